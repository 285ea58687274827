using System.Buffers;
using InferenceServer.Core.Features;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// A batch of input rows as a reader gives them: their cells, column by column, in the store a feature view reads
/// (<see cref="Cells"/>), and what only scoring needs besides: the columns' names, each row's number in its file, and
/// the rows the reader could not take apart. Pooled buffers, reused from batch to batch: filling it allocates nothing
/// per row once it has grown to the batch size. Not thread-safe; one holder at a time.
/// </summary>
public sealed class RecordBatch : IDisposable
{
    private long[] _rowNumbers = [];
    // Rows the reader could not take apart (a short CSV row, a JSONL line that is no object): rare, so a list.
    private readonly List<(int Row, string Reason)> _problems = [];

    /// <summary>Creates a batch for rows of <paramref name="columns"/>.</summary>
    public RecordBatch(IReadOnlyList<string> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        Columns = columns;
        Cells = new CellColumns(columns.Count);
    }

    /// <summary>The columns, in the order <see cref="Cells"/> takes them.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>The rows' cells: column by column, a number, a text, a coded text, or missing.</summary>
    public CellColumns Cells { get; }

    /// <summary>The number of rows.</summary>
    public int Count => Cells.Count;

    /// <summary>The batch's room, in rows.</summary>
    public int Capacity => Cells.Capacity;

    /// <summary>The row's 1-based number in its file (CSV and JSONL: data rows, the header not counted).</summary>
    public long RowNumber(int row) => _rowNumbers[row];

    /// <summary>Rows the reader found malformed, with why; their cells are whatever could be read.</summary>
    public IReadOnlyList<(int Row, string Reason)> Problems => _problems;

    /// <summary>Empties the batch and makes room for <paramref name="capacity"/> rows.</summary>
    public void Reset(int capacity)
    {
        Cells.Reset(capacity);
        if (capacity > _rowNumbers.Length)
        {
            ReturnRowNumbers();
            _rowNumbers = ArrayPool<long>.Shared.Rent(Math.Max(1, capacity));
        }
        _problems.Clear();
    }

    /// <summary>Starts a row numbered <paramref name="rowNumber"/> in its file, every cell missing; returns its index.</summary>
    public int AddRow(long rowNumber)
    {
        var row = Cells.AddRow();
        _rowNumbers[row] = rowNumber;
        return row;
    }

    /// <summary>
    /// Starts <paramref name="count"/> rows numbered from <paramref name="firstRowNumber"/> on, every cell missing;
    /// returns the first's index. A column at a time: what a columnar reader (Parquet) fills.
    /// </summary>
    public int AddRows(int count, long firstRowNumber)
    {
        var first = Cells.AddRows(count);
        for (var r = 0; r < count; r++)
        {
            _rowNumbers[first + r] = firstRowNumber + r;
        }
        return first;
    }

    /// <summary>Marks <paramref name="row"/> as malformed: it will be quarantined, not scored.</summary>
    public void SetProblem(int row, string reason) => _problems.Add((row, reason));

    /// <inheritdoc />
    public void Dispose()
    {
        Cells.Dispose();
        ReturnRowNumbers();
    }

    private void ReturnRowNumbers()
    {
        if (_rowNumbers.Length > 0)
        {
            ArrayPool<long>.Shared.Return(_rowNumbers);
        }
        _rowNumbers = [];
    }
}
