using System.Globalization;
using System.Text;
using Parquet;
using Parquet.Data;
using Parquet.Schema;

namespace InferenceServer.FeatureSidecar.Materialize;

/// <summary>
/// A Parquet file read with Parquet.Net one row group at a time, only the asked columns; every value becomes its
/// invariant text (numbers round-trip), a null stays missing.
/// </summary>
internal sealed class ParquetRowSource : IRowSource
{
    private readonly FileStream _file;
    private readonly ParquetReader _reader;
    private readonly DataField[] _fields;
    private readonly string _path;
    private string?[][] _group = [];
    private int _groupIndex = -1;
    private long _groupRows;
    private long _rowInGroup;
    private long _rowsBefore;

    private ParquetRowSource(string path, FileStream file, ParquetReader reader, DataField[] fields)
    {
        _path = path;
        _file = file;
        _reader = reader;
        _fields = fields;
    }

    public static async Task<ParquetRowSource> OpenAsync(string path, IReadOnlyList<string> columns, CancellationToken cancellationToken)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        ParquetReader? reader = null;
        try
        {
            reader = await ParquetReader.CreateAsync(file, cancellationToken: cancellationToken).ConfigureAwait(false);
            var all = reader.Schema.GetDataFields();
            var fields = new DataField[columns.Count];
            for (var i = 0; i < columns.Count; i++)
            {
                fields[i] = Array.Find(all, f => f.Name == columns[i])
                    ?? throw new MaterializeException($"{path} has no column '{columns[i]}'; its columns are {string.Join(", ", all.Select(f => f.Name))}");
            }
            return new ParquetRowSource(path, file, reader, fields);
        }
        catch (Exception e) when (e is not MaterializeException and not OperationCanceledException)
        {
            if (reader is not null)
            {
                await reader.DisposeAsync().ConfigureAwait(false);
            }
            await file.DisposeAsync().ConfigureAwait(false);
            throw new MaterializeException($"{path} is not a readable Parquet file: {e.Message}");
        }
        catch
        {
            if (reader is not null)
            {
                await reader.DisposeAsync().ConfigureAwait(false);
            }
            await file.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public double Progress => _reader.RowGroupCount == 0 ? 1
        : (Math.Max(_groupIndex, 0) + (_groupRows == 0 ? 0 : (double)_rowInGroup / _groupRows)) / _reader.RowGroupCount;

    public string Where => $"{_path}: row {_rowsBefore + _rowInGroup}";

    // Every row of a Parquet file has every column (possibly null).
    public string? RowProblem => null;

    public async ValueTask<bool> ReadAsync(string?[] cells, CancellationToken cancellationToken)
    {
        while (_rowInGroup >= _groupRows)
        {
            if (_groupIndex + 1 >= _reader.RowGroupCount)
            {
                return false;
            }
            _rowsBefore += _groupRows;
            _groupIndex++;
            using var group = _reader.OpenRowGroupReader(_groupIndex);
            var rows = checked((int)group.RowCount);
            var columns = new string?[_fields.Length][];
            for (var i = 0; i < _fields.Length; i++)
            {
                columns[i] = await ReadColumnAsync(group, _fields[i], rows, cancellationToken).ConfigureAwait(false);
            }
            _group = columns;
            _groupRows = rows;
            _rowInGroup = 0;
        }
        for (var i = 0; i < cells.Length; i++)
        {
            cells[i] = _group[i][_rowInGroup];
        }
        _rowInGroup++;
        return true;
    }

    /// <summary>A column of one row group as invariant text (null where the file has null or an empty string).</summary>
    private async Task<string?[]> ReadColumnAsync(ParquetRowGroupReader group, DataField field, int rows, CancellationToken cancellationToken)
    {
        var type = field.ClrType;
        // Parquet.Net describes string columns as ReadOnlyMemory<char> and binary ones as ReadOnlyMemory<byte>.
        if (type == typeof(string) || type == typeof(ReadOnlyMemory<char>))
        {
            var values = new string?[rows];
            await group.ReadAsync(field, values.AsMemory()!, null, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < rows; i++)
            {
                values[i] = string.IsNullOrEmpty(values[i]) ? null : values[i];
            }
            return values;
        }
        if (type == typeof(byte[]) || type == typeof(ReadOnlyMemory<byte>))
        {
            var values = new byte[]?[rows];
            await group.ReadAsync(field, values.AsMemory()!, null, cancellationToken).ConfigureAwait(false);
            var text = new string?[rows];
            for (var i = 0; i < rows; i++)
            {
                text[i] = values[i] is { Length: > 0 } bytes ? Encoding.UTF8.GetString(bytes) : null;
            }
            return text;
        }
        return type switch
        {
            _ when type == typeof(bool) => await ReadAsync<bool>(group, field, rows, static v => v ? "true" : "false", cancellationToken).ConfigureAwait(false),
            _ when type == typeof(sbyte) => await ReadAsync<sbyte>(group, field, rows, Invariant, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(byte) => await ReadAsync<byte>(group, field, rows, Invariant, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(short) => await ReadAsync<short>(group, field, rows, Invariant, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(ushort) => await ReadAsync<ushort>(group, field, rows, Invariant, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(int) => await ReadAsync<int>(group, field, rows, Invariant, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(uint) => await ReadAsync<uint>(group, field, rows, Invariant, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(long) => await ReadAsync<long>(group, field, rows, Invariant, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(ulong) => await ReadAsync<ulong>(group, field, rows, Invariant, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(float) => await ReadAsync<float>(group, field, rows, Invariant, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(double) => await ReadAsync<double>(group, field, rows, Invariant, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(decimal) => await ReadAsync<decimal>(group, field, rows, Invariant, cancellationToken).ConfigureAwait(false),
            _ when type == typeof(DateTime) => await ReadAsync<DateTime>(group, field, rows, static v => v.ToString("O", CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false),
            _ when type == typeof(DateOnly) => await ReadAsync<DateOnly>(group, field, rows, static v => v.ToString("O", CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false),
            _ when type == typeof(TimeOnly) => await ReadAsync<TimeOnly>(group, field, rows, static v => v.ToString("O", CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false),
            _ when type == typeof(TimeSpan) => await ReadAsync<TimeSpan>(group, field, rows, static v => v.ToString("c", CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false),
            _ when type == typeof(Guid) => await ReadAsync<Guid>(group, field, rows, static v => v.ToString("D", CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false),
            _ => throw new MaterializeException($"{_path}: column '{field.Name}' holds values materialize cannot write as text; expected numbers, strings, booleans, dates or times"),
        };
    }

    private static string Invariant<T>(T value) where T : IFormattable => value.ToString(null, CultureInfo.InvariantCulture);

    private static async Task<string?[]> ReadAsync<T>(ParquetRowGroupReader group, DataField field, int rows, Func<T, string> format, CancellationToken cancellationToken)
        where T : struct
    {
        var text = new string?[rows];
        if (field.IsNullable)
        {
            var values = new T?[rows];
            await group.ReadAsync(field, values.AsMemory(), null, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < rows; i++)
            {
                text[i] = values[i] is { } value ? format(value) : null;
            }
        }
        else
        {
            var values = new T[rows];
            await group.ReadAsync(field, values.AsMemory(), null, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < rows; i++)
            {
                text[i] = format(values[i]);
            }
        }
        return text;
    }

    public async ValueTask DisposeAsync()
    {
        await _reader.DisposeAsync().ConfigureAwait(false);
        await _file.DisposeAsync().ConfigureAwait(false);
    }
}
