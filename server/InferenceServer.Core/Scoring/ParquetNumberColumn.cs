using System.Buffers;
using System.Numerics;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// A numeric Parquet column kept in its own type (an INT32 column takes 4 bytes a row, not a double's 8), widened to
/// double a batch block at a time; nulls are a byte a row, and only when the chunk has any.
/// </summary>
internal sealed class ParquetNumberColumn<T> : ParquetColumn
    where T : struct, INumberBase<T>
{
    private T[] _values;
    private bool[]? _present;
    private readonly int _rows;

    /// <summary>Takes <paramref name="values"/> (rented, one per row) and <paramref name="present"/> (rented, or null: every row has a value); returns them to the pool on dispose.</summary>
    public ParquetNumberColumn(T[] values, bool[]? present, int rows)
    {
        _values = values;
        _present = present;
        _rows = rows;
    }

    public override long Bytes => (long)_rows * (System.Runtime.CompilerServices.Unsafe.SizeOf<T>() + (_present is null ? 0 : 1));

    public override void Fill(RecordBatch batch, int column, int row, int from, int count) =>
        batch.Cells.SetNumbers(column, row, _values.AsSpan(from, count), _present is null ? default : _present.AsSpan(from, count));

    public override void Dispose()
    {
        if (_values.Length > 0)
        {
            ColumnPool<T>.Shared.Return(_values);
            _values = [];
        }
        if (_present is not null)
        {
            ColumnPool<bool>.Shared.Return(_present);
            _present = null;
        }
    }
}
