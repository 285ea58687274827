using System.Buffers;
using System.Globalization;
using System.Numerics;
using Microsoft.Win32.SafeHandles;
using Parquet;
using Parquet.Schema;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// One row group of a Parquet file, only the asked columns. Parquet.Net reads the footer (where each chunk lies, its
/// codec and encodings); a flat column of numbers, booleans or text in PLAIN or dictionary encoding is then read a page
/// at a time straight into the batches (<see cref="ParquetPageCursor"/>), so what the split holds is its pages, not its
/// rows. Any other column (timestamps, decimals, binary, other encodings or codecs) is read whole by Parquet.Net, a
/// column at a time, encoded at once into its compact form (<see cref="ParquetColumn"/>) and handed out in batches;
/// what it holds follows the row group's rows. <see cref="DecodedBytes"/> adds both up before anything is read, and
/// the pipeline admits splits against its memory limit by it. Numbers stay numbers, strings and binary (as UTF-8) are
/// text, booleans are 1 or 0, timestamps are ISO text.
/// </summary>
internal sealed class ParquetRecordReader : RecordReader
{
    private readonly SynchronousReadStream _file;
    private readonly ParquetReader _reader;
    private readonly InputSplit _split;
    private readonly DataField?[] _fields;
    private readonly string[] _fileColumns;
    private readonly ParquetColumn?[] _columns;
    private readonly SafeFileHandle _handle;
    private readonly ParquetPageCursor?[] _cursors;
    private readonly bool _wholeChunks;
    private bool _loaded;
    private int _rows = -1;
    private int _next;

    // The batch rows the page cursors' scratch is estimated for (the pipeline's batches are far smaller).
    private const int ScratchRows = 8192;

    private ParquetRecordReader(InputSplit split, SynchronousReadStream file, SafeFileHandle handle, ParquetReader reader, DataField?[] fields, string[] fileColumns, bool wholeChunks)
    {
        _wholeChunks = wholeChunks;
        _split = split;
        _file = file;
        _handle = handle;
        _reader = reader;
        _fields = fields;
        _fileColumns = fileColumns;
        _columns = new ParquetColumn?[fields.Length];
        _cursors = new ParquetPageCursor?[fields.Length];
        DecodedBytes = fields.Length == 0 || split.IndexInFile >= reader.RowGroupCount ? 0 : Estimate();
    }

    public override InputSplit Split => _split;

    public override IReadOnlyList<string> FileColumns => _fileColumns;

    /// <summary>
    /// What reading the row group holds at most, from its metadata: every asked column in compact form (its values'
    /// own width and a byte a row for nulls; for text a 4-byte code a row and the distinct values, at most twice the
    /// chunk's uncompressed bytes), plus the largest one column's passing cost while Parquet.Net decodes it (its
    /// values as Parquet.Net gives them, the definition levels, the chunk's pages, and for text a buffer per value).
    /// </summary>
    public override long DecodedBytes { get; }

    /// <summary>What the decoded columns hold now (for the tests and the memory log).</summary>
    internal long HeldBytes
    {
        get
        {
            long bytes = 0;
            foreach (var column in _columns)
            {
                bytes += column?.Bytes ?? 0;
            }
            foreach (var cursor in _cursors)
            {
                bytes += cursor?.CurrentBytes ?? 0;
            }
            return bytes;
        }
    }

    /// <summary>How many of the asked columns are read page by page (the rest Parquet.Net reads whole).</summary>
    internal int PageReadColumns => _cursors.Count(c => c is not null);

    public static Task<RecordReader> OpenSplitAsync(InputSplit split, IReadOnlyList<string> columns, CancellationToken cancellationToken) =>
        OpenSplitAsync(split, columns, WholeChunks, cancellationToken);

    /// <summary>Opens <paramref name="split"/>; with <paramref name="wholeChunks"/>, every column is read whole by Parquet.Net (the path before the page reader, kept for the columns it does not read).</summary>
    internal static async Task<RecordReader> OpenSplitAsync(InputSplit split, IReadOnlyList<string> columns, bool wholeChunks, CancellationToken cancellationToken)
    {
        var file = new SynchronousReadStream(new FileStream(split.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: false));
        ParquetReader? reader = null;
        SafeFileHandle? handle = null;
        try
        {
            // The pages are read by offset, apart from Parquet.Net's stream.
            handle = File.OpenHandle(split.Path, FileMode.Open, FileAccess.Read, FileShare.Read);
            reader = await ParquetReader.CreateAsync(file, cancellationToken: cancellationToken).ConfigureAwait(false);
            var all = reader.Schema.GetDataFields();
            var fields = new DataField?[columns.Count];
            for (var i = 0; i < columns.Count; i++)
            {
                fields[i] = Array.Find(all, f => f.Name == columns[i] && f.Path.ToList().Count == 1);
            }
            return new ParquetRecordReader(split, file, handle, reader, fields, [.. all.Select(f => f.Name)], wholeChunks);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            if (reader is not null)
            {
                await reader.DisposeAsync().ConfigureAwait(false);
            }
            handle?.Dispose();
            await file.DisposeAsync().ConfigureAwait(false);
            throw e is ScoreException ? e : new ScoreException($"'{split.Path}' is not a readable Parquet file: {e.Message}", e);
        }
    }

    private long Estimate()
    {
        using var group = _reader.OpenRowGroupReader(_split.IndexInFile);
        var rows = group.RowCount;
        long held = 0;
        long passing = 0;
        for (var c = 0; c < _fields.Length; c++)
        {
            if (_fields[c] is not { } field)
            {
                continue;
            }
            if (OpenCursor(group, field, c) is { } cursor)
            {
                held += cursor.HeldBytes;
                passing = Math.Max(passing, cursor.PassingBytes);
                continue;
            }
            var chunk = group.GetMetadata(field)?.MetaData?.TotalUncompressedSize ?? 0;
            var (compact, raw) = Widths(field.ClrType);
            var nullable = field.MaxDefinitionLevel > 0;
            if (compact == 4 && raw == 16)
            {
                // Text: a code a row (nulls are a code), and the distinct values, at most the chunk's text as UTF-16.
                // Passing: Parquet.Net's values, levels, the chunk's pages (compressed and not) and, for a chunk
                // that is not dictionary-encoded, a buffer per value (24 bytes besides its characters).
                held += rows * 4 + 2 * chunk;
                passing = Math.Max(passing, rows * (16 + 4 + 24) + 4 * chunk);
            }
            else
            {
                held += rows * (compact + (nullable ? 1 : 0));
                passing = Math.Max(passing, rows * (raw + (nullable ? 4 : 0)) + 2 * chunk);
            }
            if (MemoryLog)
            {
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[score memory] {_split}: column '{field.Name}' ({field.ClrType.Name}, definition level {field.MaxDefinitionLevel}): {chunk} bytes uncompressed"));
            }
        }
        return held + passing;
    }

    // A page cursor for the column when the page reader reads it (a flat column of a type, codec and encodings it
    // knows, unless INFERENCE_SERVER_SCORE_WHOLE_CHUNKS=1 asks for Parquet.Net's whole-chunk reads); null otherwise.
    private ParquetPageCursor? OpenCursor(ParquetRowGroupReader group, DataField field, int column)
    {
        if (_wholeChunks || group.GetMetadata(field)?.MetaData is not { } meta)
        {
            return null;
        }
        var why = ParquetPageCursor.Supports((int)meta.Type, field.ClrType, (int)meta.Codec, meta.Encodings.Select(e => (int)e), field.MaxDefinitionLevel, field.MaxRepetitionLevel);
        if (why is not null)
        {
            if (MemoryLog)
            {
                Console.Error.WriteLine($"[score memory] {_split}: column '{field.Name}' read whole by Parquet.Net ({why})");
            }
            return null;
        }
        // A dictionary page, when there is one, comes first; some writers give its offset as 0 when there is none.
        var start = meta.DictionaryPageOffset is > 0 and var d && d < meta.DataPageOffset ? d : meta.DataPageOffset;
        var cursor = ParquetPageCursor.Open(_handle, $"{_split}: column '{field.Name}'", (int)meta.Type, (int)meta.Codec, field.MaxDefinitionLevel,
            start, meta.TotalCompressedSize, group.RowCount, ScratchRows);
        _cursors[column] = cursor;
        return cursor;
    }

    private static readonly bool WholeChunks = Environment.GetEnvironmentVariable("INFERENCE_SERVER_SCORE_WHOLE_CHUNKS") == "1";

    // Bytes a row: in compact form, and as Parquet.Net gives the values.
    private static (int Compact, int Raw) Widths(Type type) =>
        type == typeof(string) || type == typeof(ReadOnlyMemory<char>) || type == typeof(byte[]) || type == typeof(ReadOnlyMemory<byte>) ? (4, 16)
        : type == typeof(DateTime) ? (4, 24)
        : type == typeof(decimal) ? (16, 16)
        : type == typeof(bool) ? (1, 1)
        : (System.Runtime.InteropServices.Marshal.SizeOf(type), System.Runtime.InteropServices.Marshal.SizeOf(type));

    public override async ValueTask<bool> ReadAsync(RecordBatch batch, int maxRows, CancellationToken cancellationToken)
    {
        batch.Reset(maxRows);
        if (!_loaded)
        {
            _rows = await ParquetThread.Decode.RunAsync(() => LoadAsync(cancellationToken)).ConfigureAwait(false);
            _loaded = true;
        }
        var count = Math.Min(maxRows, _rows - _next);
        if (count <= 0)
        {
            return false;
        }
        var first = batch.AddRows(count, _next + 1);
        for (var c = 0; c < _columns.Length; c++)
        {
            // A column at a time, a block at a time: no per-cell call.
            if (_cursors[c] is { } cursor)
            {
                cursor.Fill(batch, c, first, count);
            }
            else
            {
                _columns[c]?.Fill(batch, c, first, _next, count);
            }
        }
        _next += count;
        return true;
    }

    private async Task<int> LoadAsync(CancellationToken cancellationToken)
    {
        if (MemoryLog && Interlocked.Exchange(ref _collectorLogged, 1) == 0)
        {
            // Which collector runs, as the runtime was configured (server GC, DATAS, heap count, hard limit).
            var settings = GC.GetConfigurationVariables();
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[score memory] collector: server {System.Runtime.GCSettings.IsServerGC}, {string.Join(", ", settings.Where(s => s.Key is "GCDynamicAdaptationMode" or "GCHeapCount" or "GCHeapHardLimit" or "GCConserveMemory" or "GCGen0Size").Select(s => $"{s.Key} {s.Value}"))}"));
        }
        using var group = _reader.OpenRowGroupReader(_split.IndexInFile);
        var rows = checked((int)group.RowCount);
        for (var c = 0; c < _fields.Length; c++)
        {
            if (_fields[c] is not { } field || _cursors[c] is not null)
            {
                continue;
            }
            try
            {
                _columns[c] = await ReadColumnAsync(group, field, rows, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException and not ScoreException)
            {
                throw new ScoreException($"{_split}: column '{field.Name}' cannot be read: {e.Message}", e);
            }
        }
        if (MemoryLog)
        {
            var gc = GC.GetGCMemoryInfo();
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[score memory] {_split}: estimated {DecodedBytes >> 20} MB, decoded {HeldBytes >> 20} MB ({string.Join(", ", _columns.Select((c, i) => $"{_fields[i]?.Name} {(c?.Bytes ?? 0) >> 10} KB"))}); GC heap {GC.GetTotalMemory(false) >> 20} MB (committed {gc.TotalCommittedBytes >> 20} MB, live {(MemoryLogCollects ? GC.GetTotalMemory(true) >> 20 : -1)} MB), {BytePoolFigures()}, process working set {Environment.WorkingSet >> 20} MB, peak {System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64 >> 20} MB"));
        }
        return rows;
    }

    // INFERENCE_SERVER_SCORE_MEMORY_LOG=1: a line per row group read (to standard error), of what it holds and what the
    // process does. A diagnostic: it forces a full collection per row group to tell the live heap from garbage; =2 logs
    // the same without forcing one (the figures are then what the collector leaves on its own).
    private static readonly string? MemoryLogSetting = Environment.GetEnvironmentVariable("INFERENCE_SERVER_SCORE_MEMORY_LOG");
    private static readonly bool MemoryLog = MemoryLogSetting is "1" or "2";
    private static readonly bool MemoryLogCollects = MemoryLogSetting == "1";
    // Whether the collector's settings were logged yet (once a process).
    private static int _collectorLogged;

    // The shared byte pool's rented and free megabytes, for the memory log.
    private static string BytePoolFigures()
    {
        var pool = (BoundedArrayPool<byte>)ColumnPool<byte>.Shared;
        return string.Create(CultureInfo.InvariantCulture, $"byte pool {pool.RentedBytes >> 20} MB rented + {pool.FreeBytes >> 20} MB free");
    }

    /// <summary>With the memory log on, where the run ran out of memory and what the collector held then.</summary>
    internal static void LogOutOfMemory(OutOfMemoryException e)
    {
        if (!MemoryLog)
        {
            return;
        }
        var gc = GC.GetGCMemoryInfo();
        var generations = string.Join(", ", Enumerable.Range(0, gc.GenerationInfo.Length).Select(g =>
            string.Create(CultureInfo.InvariantCulture, $"gen {g} {gc.GenerationInfo[g].SizeAfterBytes >> 20} MB ({gc.GenerationInfo[g].FragmentationAfterBytes >> 20} MB free)")));
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"[score memory] out of memory: last GC heap {gc.HeapSizeBytes >> 20} MB, committed {gc.TotalCommittedBytes >> 20} MB, {generations}; {e}"));
    }

    private Task<ParquetColumn> ReadColumnAsync(ParquetRowGroupReader group, DataField field, int rows, CancellationToken cancellationToken)
    {
        var type = field.ClrType;
        if (type == typeof(string) || type == typeof(ReadOnlyMemory<char>))
        {
            return ReadTextAsync(group, field, rows, cancellationToken);
        }
        if (type == typeof(byte[]) || type == typeof(ReadOnlyMemory<byte>))
        {
            return ReadBinaryAsync(group, field, rows, cancellationToken);
        }
        if (type == typeof(double)) { return ReadNumbersAsync<double>(group, field, rows, cancellationToken); }
        if (type == typeof(float)) { return ReadNumbersAsync<float>(group, field, rows, cancellationToken); }
        if (type == typeof(int)) { return ReadNumbersAsync<int>(group, field, rows, cancellationToken); }
        if (type == typeof(long)) { return ReadNumbersAsync<long>(group, field, rows, cancellationToken); }
        if (type == typeof(short)) { return ReadNumbersAsync<short>(group, field, rows, cancellationToken); }
        if (type == typeof(sbyte)) { return ReadNumbersAsync<sbyte>(group, field, rows, cancellationToken); }
        if (type == typeof(byte)) { return ReadNumbersAsync<byte>(group, field, rows, cancellationToken); }
        if (type == typeof(ushort)) { return ReadNumbersAsync<ushort>(group, field, rows, cancellationToken); }
        if (type == typeof(uint)) { return ReadNumbersAsync<uint>(group, field, rows, cancellationToken); }
        if (type == typeof(ulong)) { return ReadNumbersAsync<ulong>(group, field, rows, cancellationToken); }
        if (type == typeof(decimal)) { return ReadNumbersAsync<decimal>(group, field, rows, cancellationToken); }
        if (type == typeof(bool)) { return ReadBooleansAsync(group, field, rows, cancellationToken); }
        if (type == typeof(DateTime)) { return ReadTimestampsAsync(group, field, rows, cancellationToken); }
        throw new ScoreException($"{_split}: column '{field.Name}' holds {type.Name} values; batch scoring reads numbers, strings, booleans and timestamps");
    }

    // The values as Parquet.Net decodes them (the defined ones, in order) and, for a nullable column, the definition
    // level of every row; both rented, and returned by the caller as soon as the column is encoded.
    private static async Task<(T[] Values, int[]? Levels)> ReadRawAsync<T>(ParquetRowGroupReader group, DataField field, int rows, CancellationToken cancellationToken)
        where T : struct
    {
        var values = ColumnPool<T>.Shared.Rent(Math.Max(1, rows));
        var levels = field.MaxDefinitionLevel > 0 ? ColumnPool<int>.Shared.Rent(Math.Max(1, rows)) : null;
        try
        {
            await group.ReadRawAsync(field, values.AsMemory(0, rows), levels?.AsMemory(0, rows), null, cancellationToken).ConfigureAwait(false);
            return (values, levels);
        }
        catch
        {
            Return(values, levels);
            throw;
        }
    }

    private static void Return<T>(T[] values, int[]? levels)
    {
        // Cleared when they hold references: the pool must not keep Parquet.Net's decoded texts alive.
        ColumnPool<T>.Shared.Return(values, clearArray: System.Runtime.CompilerServices.RuntimeHelpers.IsReferenceOrContainsReferences<T>());
        if (levels is not null)
        {
            ColumnPool<int>.Shared.Return(levels);
        }
    }

    private static async Task<ParquetColumn> ReadTextAsync(ParquetRowGroupReader group, DataField field, int rows, CancellationToken cancellationToken)
    {
        var (values, levels) = await ReadRawAsync<ReadOnlyMemory<char>>(group, field, rows, cancellationToken).ConfigureAwait(false);
        ParquetTextColumn column;
        try
        {
            column = ParquetTextColumn.Encode(values.AsSpan(0, rows), levels is null ? default : levels.AsSpan(0, rows), field.MaxDefinitionLevel, rows);
        }
        finally
        {
            Return(values, levels);
        }
        return column;
    }

    private static async Task<ParquetColumn> ReadBinaryAsync(ParquetRowGroupReader group, DataField field, int rows, CancellationToken cancellationToken)
    {
        var (values, levels) = await ReadRawAsync<ReadOnlyMemory<byte>>(group, field, rows, cancellationToken).ConfigureAwait(false);
        try
        {
            var texts = new string?[rows];
            var v = 0;
            for (var i = 0; i < rows; i++)
            {
                texts[i] = levels is null || levels[i] == field.MaxDefinitionLevel ? System.Text.Encoding.UTF8.GetString(values[v++].Span) : null;
            }
            return ParquetTextColumn.Encode(texts);
        }
        finally
        {
            Return(values, levels);
        }
    }

    private static async Task<ParquetColumn> ReadNumbersAsync<T>(ParquetRowGroupReader group, DataField field, int rows, CancellationToken cancellationToken)
        where T : struct, INumberBase<T>
    {
        var (values, levels) = await ReadRawAsync<T>(group, field, rows, cancellationToken).ConfigureAwait(false);
        if (levels is null)
        {
            return new ParquetNumberColumn<T>(values, null, rows);
        }
        try
        {
            var present = Spread(values, levels, field.MaxDefinitionLevel, rows);
            return new ParquetNumberColumn<T>(values, present, rows);
        }
        catch
        {
            ColumnPool<T>.Shared.Return(values);
            throw;
        }
        finally
        {
            ColumnPool<int>.Shared.Return(levels);
        }
    }

    // Moves the defined values (packed at the front) to their rows, in place from the back (a value never moves
    // forward, so none is overwritten before it moves); returns which rows have one, or null when all do.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static bool[]? Spread<T>(T[] values, int[] levels, int maxLevel, int rows)
        where T : struct
    {
        var defined = 0;
        for (var i = 0; i < rows; i++)
        {
            defined += levels[i] == maxLevel ? 1 : 0;
        }
        if (defined == rows)
        {
            return null;
        }
        var present = ColumnPool<bool>.Shared.Rent(Math.Max(1, rows));
        var v = defined - 1;
        for (var i = rows - 1; i >= 0; i--)
        {
            if (levels[i] == maxLevel)
            {
                values[i] = values[v--];
                present[i] = true;
            }
            else
            {
                values[i] = default;
                present[i] = false;
            }
        }
        return present;
    }

    private static async Task<ParquetColumn> ReadBooleansAsync(ParquetRowGroupReader group, DataField field, int rows, CancellationToken cancellationToken)
    {
        var (values, levels) = await ReadRawAsync<bool>(group, field, rows, cancellationToken).ConfigureAwait(false);
        var bytes = ColumnPool<byte>.Shared.Rent(Math.Max(1, rows));
        try
        {
            var v = 0;
            var present = levels is null ? null : ColumnPool<bool>.Shared.Rent(Math.Max(1, rows));
            var anyMissing = false;
            for (var i = 0; i < rows; i++)
            {
                var has = levels is null || levels[i] == field.MaxDefinitionLevel;
                bytes[i] = has && values[v++] ? (byte)1 : (byte)0;
                if (present is not null)
                {
                    present[i] = has;
                    anyMissing |= !has;
                }
            }
            if (present is not null && !anyMissing)
            {
                ColumnPool<bool>.Shared.Return(present);
                present = null;
            }
            return new ParquetNumberColumn<byte>(bytes, present, rows);
        }
        finally
        {
            Return(values, levels);
        }
    }

    // Timestamps: text, as the materializer writes them.
    private static async Task<ParquetColumn> ReadTimestampsAsync(ParquetRowGroupReader group, DataField field, int rows, CancellationToken cancellationToken)
    {
        var (values, levels) = await ReadRawAsync<DateTime>(group, field, rows, cancellationToken).ConfigureAwait(false);
        try
        {
            var texts = new string?[rows];
            var v = 0;
            for (var i = 0; i < rows; i++)
            {
                texts[i] = levels is null || levels[i] == field.MaxDefinitionLevel ? values[v++].ToString("O", CultureInfo.InvariantCulture) : null;
            }
            return ParquetTextColumn.Encode(texts);
        }
        finally
        {
            Return(values, levels);
        }
    }

    public override async ValueTask DisposeAsync()
    {
        if (MemoryLog && _loaded)
        {
            // At the row group's end its pages are all held: the reading's peak. Without a forced collection here
            // (INFERENCE_SERVER_SCORE_MEMORY_LOG=2) the figures are what the collector leaves on its own.
            var gc = GC.GetGCMemoryInfo();
            var live = MemoryLogCollects ? GC.GetTotalMemory(true) >> 20 : -1;
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[score memory] {_split}: read, holding {HeldBytes >> 20} MB; {BytePoolFigures()}; live {live} MB; last GC: heap {gc.HeapSizeBytes >> 20} MB, fragmented {gc.FragmentedBytes >> 20} MB, committed {gc.TotalCommittedBytes >> 20} MB, gen {gc.Generation}, compacted {gc.Compacted}; allocated {GC.GetTotalAllocatedBytes() >> 20} MB in all; collections {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}; working set {Environment.WorkingSet >> 20} MB"));
        }
        for (var c = 0; c < _columns.Length; c++)
        {
            _columns[c]?.Dispose();
            _columns[c] = null;
            _cursors[c]?.Dispose();
            _cursors[c] = null;
        }
        _handle.Dispose();
        await _reader.DisposeAsync().ConfigureAwait(false);
        await _file.DisposeAsync().ConfigureAwait(false);
    }
}
