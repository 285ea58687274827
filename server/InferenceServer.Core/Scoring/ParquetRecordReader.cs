using System.Buffers;
using System.Globalization;
using System.Numerics;
using Parquet;
using Parquet.Schema;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// One row group of a Parquet file, read with Parquet.Net column by column (only the asked columns), then handed out in
/// batches. Parquet.Net reads a column chunk whole, so memory follows the row group's size, which the file's writer chose.
/// Numbers stay numbers, strings and binary (as UTF-8) are text, booleans are 1 or 0, dates and times are ISO text.
/// </summary>
internal sealed class ParquetRecordReader : RecordReader
{
    private readonly FileStream _file;
    private readonly ParquetReader _reader;
    private readonly InputSplit _split;
    private readonly DataField?[] _fields;
    private readonly string[] _fileColumns;
    private double[]?[] _numbers = [];
    private bool[]?[] _present = [];
    private ReadOnlyMemory<char>[]?[] _texts = [];
    private int _rows = -1;
    private int _next;
    // A row group's column arrays (a million rows: megabytes each, on the large object heap) are rented and given back
    // when the split is done, so that split after split reuses them instead of making the GC collect and the kernel
    // clear fresh ones. The batches copy the values (texts as references into Parquet.Net's buffers), not the arrays.
    private readonly List<Action> _returns = [];

    private ParquetRecordReader(InputSplit split, FileStream file, ParquetReader reader, DataField?[] fields, string[] fileColumns)
    {
        _split = split;
        _file = file;
        _reader = reader;
        _fields = fields;
        _fileColumns = fileColumns;
    }

    public override InputSplit Split => _split;

    public override IReadOnlyList<string> FileColumns => _fileColumns;

    public static async Task<RecordReader> OpenSplitAsync(InputSplit split, IReadOnlyList<string> columns, CancellationToken cancellationToken)
    {
        var file = new FileStream(split.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: false);
        ParquetReader? reader = null;
        try
        {
            reader = await ParquetReader.CreateAsync(file, cancellationToken: cancellationToken).ConfigureAwait(false);
            var all = reader.Schema.GetDataFields();
            var fields = new DataField?[columns.Count];
            for (var i = 0; i < columns.Count; i++)
            {
                fields[i] = Array.Find(all, f => f.Name == columns[i] && f.Path.ToList().Count == 1);
            }
            return new ParquetRecordReader(split, file, reader, fields, [.. all.Select(f => f.Name)]);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            if (reader is not null)
            {
                await reader.DisposeAsync().ConfigureAwait(false);
            }
            await file.DisposeAsync().ConfigureAwait(false);
            throw e is ScoreException ? e : new ScoreException($"'{split.Path}' is not a readable Parquet file: {e.Message}", e);
        }
    }


    public override async ValueTask<bool> ReadAsync(RecordBatch batch, int maxRows, CancellationToken cancellationToken)
    {
        batch.Reset(maxRows);
        if (_rows < 0)
        {
            await LoadAsync(cancellationToken).ConfigureAwait(false);
        }
        var count = Math.Min(maxRows, _rows - _next);
        if (count <= 0)
        {
            return false;
        }
        var first = batch.AddRows(count, _next + 1);
        for (var c = 0; c < _fields.Length; c++)
        {
            if (_numbers[c] is { } numbers)
            {
                // A column at a time, copied as a block: no per-cell call.
                batch.SetNumbers(c, first, numbers.AsSpan(_next, count), _present[c] is { } present ? present.AsSpan(_next, count) : default);
            }
            else if (_texts[c] is { } texts)
            {
                // Referenced, not copied: the column's values stay as Parquet.Net decoded them until the split is done.
                for (var r = 0; r < count; r++)
                {
                    var text = texts[_next + r];
                    if (!text.IsEmpty)
                    {
                        batch.SetSharedText(c, first + r, text);
                    }
                }
            }
        }
        _next += count;
        return true;
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        using var group = _reader.OpenRowGroupReader(_split.IndexInFile);
        var rows = checked((int)group.RowCount);
        _numbers = new double[]?[_fields.Length];
        _present = new bool[]?[_fields.Length];
        _texts = new ReadOnlyMemory<char>[]?[_fields.Length];
        for (var c = 0; c < _fields.Length; c++)
        {
            if (_fields[c] is not { } field)
            {
                continue;
            }
            try
            {
                await ReadColumnAsync(group, c, field, rows, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException and not ScoreException)
            {
                throw new ScoreException($"{_split}: column '{field.Name}' cannot be read: {e.Message}", e);
            }
        }
        _rows = rows;
    }

    private async Task ReadColumnAsync(ParquetRowGroupReader group, int c, DataField field, int rows, CancellationToken cancellationToken)
    {
        var type = field.ClrType;
        if (type == typeof(string) || type == typeof(ReadOnlyMemory<char>))
        {
            // As ReadOnlyMemory<char> over Parquet.Net's decoded buffer: no string per cell. Null reads as empty (missing).
            var values = Rent<ReadOnlyMemory<char>>(rows);
            if (field.IsNullable)
            {
                var nullable = Rent<ReadOnlyMemory<char>?>(rows);
                await group.ReadAsync(field, nullable.AsMemory(0, rows), null, cancellationToken).ConfigureAwait(false);
                Unwrap(nullable, values, rows);
            }
            else
            {
                await group.ReadAsync(field, values.AsMemory(0, rows), null, cancellationToken).ConfigureAwait(false);
            }
            _texts[c] = values;
        }
        else if (type == typeof(byte[]) || type == typeof(ReadOnlyMemory<byte>))
        {
            var values = new byte[]?[rows];
            await group.ReadAsync(field, values.AsMemory()!, null, cancellationToken).ConfigureAwait(false);
            _texts[c] = Array.ConvertAll(values, static v => v is null ? ReadOnlyMemory<char>.Empty : System.Text.Encoding.UTF8.GetString(v).AsMemory());
        }
        else if (type == typeof(double)) { await ReadNumbersAsync<double>(group, c, field, rows, cancellationToken).ConfigureAwait(false); }
        else if (type == typeof(float)) { await ReadNumbersAsync<float>(group, c, field, rows, cancellationToken).ConfigureAwait(false); }
        else if (type == typeof(int)) { await ReadNumbersAsync<int>(group, c, field, rows, cancellationToken).ConfigureAwait(false); }
        else if (type == typeof(long)) { await ReadNumbersAsync<long>(group, c, field, rows, cancellationToken).ConfigureAwait(false); }
        else if (type == typeof(short)) { await ReadNumbersAsync<short>(group, c, field, rows, cancellationToken).ConfigureAwait(false); }
        else if (type == typeof(sbyte)) { await ReadNumbersAsync<sbyte>(group, c, field, rows, cancellationToken).ConfigureAwait(false); }
        else if (type == typeof(byte)) { await ReadNumbersAsync<byte>(group, c, field, rows, cancellationToken).ConfigureAwait(false); }
        else if (type == typeof(ushort)) { await ReadNumbersAsync<ushort>(group, c, field, rows, cancellationToken).ConfigureAwait(false); }
        else if (type == typeof(uint)) { await ReadNumbersAsync<uint>(group, c, field, rows, cancellationToken).ConfigureAwait(false); }
        else if (type == typeof(ulong)) { await ReadNumbersAsync<ulong>(group, c, field, rows, cancellationToken).ConfigureAwait(false); }
        else if (type == typeof(decimal)) { await ReadNumbersAsync<decimal>(group, c, field, rows, cancellationToken).ConfigureAwait(false); }
        else if (type == typeof(bool)) { await ReadBooleansAsync(group, c, field, rows, cancellationToken).ConfigureAwait(false); }
        else
        {
            await ReadFormattedAsync(group, c, field, rows, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task ReadNumbersAsync<T>(ParquetRowGroupReader group, int c, DataField field, int rows, CancellationToken cancellationToken)
        where T : struct, INumberBase<T>
    {
        var numbers = Rent<double>(rows);
        if (field.IsNullable)
        {
            var values = Rent<T?>(rows);
            await group.ReadAsync(field, values.AsMemory(0, rows), null, cancellationToken).ConfigureAwait(false);
            var present = Rent<bool>(rows);
            Widen(values, numbers, present, rows);
            _present[c] = present;
        }
        else
        {
            var values = Rent<T>(rows);
            await group.ReadAsync(field, values.AsMemory(0, rows), null, cancellationToken).ConfigureAwait(false);
            Widen(values, numbers, rows);
        }
        _numbers[c] = numbers;
    }

    // The loops of a row group's columns run once per column per row group: compiled optimized at once rather than
    // waiting in unoptimized code for tiering to notice them.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void Widen<T>(T?[] values, double[] numbers, bool[] present, int rows)
        where T : struct, INumberBase<T>
    {
        for (var i = 0; i < rows; i++)
        {
            var value = values[i];
            present[i] = value.HasValue;
            numbers[i] = value.HasValue ? double.CreateChecked(value.GetValueOrDefault()) : 0;
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void Widen<T>(T[] values, double[] numbers, int rows)
        where T : struct, INumberBase<T>
    {
        for (var i = 0; i < rows; i++)
        {
            numbers[i] = double.CreateChecked(values[i]);
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void Unwrap(ReadOnlyMemory<char>?[] nullable, ReadOnlyMemory<char>[] values, int rows)
    {
        for (var i = 0; i < rows; i++)
        {
            values[i] = nullable[i] ?? ReadOnlyMemory<char>.Empty;
        }
    }

    private async Task ReadBooleansAsync(ParquetRowGroupReader group, int c, DataField field, int rows, CancellationToken cancellationToken)
    {
        var values = new bool?[rows];
        if (field.IsNullable)
        {
            await group.ReadAsync(field, values.AsMemory(), null, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var plain = new bool[rows];
            await group.ReadAsync(field, plain.AsMemory(), null, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < rows; i++)
            {
                values[i] = plain[i];
            }
        }
        var numbers = new double[rows];
        var present = new bool[rows];
        for (var i = 0; i < rows; i++)
        {
            present[i] = values[i].HasValue;
            numbers[i] = values[i] == true ? 1 : 0;
        }
        _numbers[c] = numbers;
        _present[c] = present;
    }

    // Dates, times and the like: text, as the materializer writes them.
    private async Task ReadFormattedAsync(ParquetRowGroupReader group, int c, DataField field, int rows, CancellationToken cancellationToken)
    {
        var texts = new ReadOnlyMemory<char>[rows];
        var type = field.ClrType;
        if (type == typeof(DateTime))
        {
            var values = new DateTime?[rows];
            if (field.IsNullable)
            {
                await group.ReadAsync(field, values.AsMemory(), null, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var plain = new DateTime[rows];
                await group.ReadAsync(field, plain.AsMemory(), null, cancellationToken).ConfigureAwait(false);
                for (var i = 0; i < rows; i++)
                {
                    values[i] = plain[i];
                }
            }
            for (var i = 0; i < rows; i++)
            {
                texts[i] = values[i]?.ToString("O", CultureInfo.InvariantCulture).AsMemory() ?? ReadOnlyMemory<char>.Empty;
            }
        }
        else
        {
            throw new ScoreException($"{_split}: column '{field.Name}' holds {type.Name} values; batch scoring reads numbers, strings, booleans and timestamps");
        }
        _texts[c] = texts;
    }

    private T[] Rent<T>(int rows)
    {
        var array = ArrayPool<T>.Shared.Rent(Math.Max(1, rows));
        // Cleared: the pool must not keep Parquet.Net's buffers (texts) alive, and a rented array holds old values.
        _returns.Add(() => ArrayPool<T>.Shared.Return(array, clearArray: System.Runtime.CompilerServices.RuntimeHelpers.IsReferenceOrContainsReferences<T>()));
        return array;
    }

    public override async ValueTask DisposeAsync()
    {
        foreach (var giveBack in _returns)
        {
            giveBack();
        }
        _returns.Clear();
        _numbers = [];
        _present = [];
        _texts = [];
        await _reader.DisposeAsync().ConfigureAwait(false);
        await _file.DisposeAsync().ConfigureAwait(false);
    }
}
