using System.Buffers;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// A batch of input rows as a reader gives them, column by column: per cell a number, a text, or missing, with each
/// row's number in its file. Pooled buffers, reused from batch to batch: filling it allocates nothing per row once it
/// has grown to the batch size. Not thread-safe; one holder at a time.
/// </summary>
public sealed class RecordBatch : IDisposable
{
    private const byte Missing = 0;
    private const byte NumberValue = 1;
    private const byte TextValue = 2;
    private const byte CodedTextValue = 3;

    private int _capacity;
    // Cells are indexed column * _capacity + row.
    private byte[] _state = [];
    private double[] _numbers = [];
    private int[] _textStart = [];
    private int[] _textLength = [];
    private long[] _rowNumbers = [];
    // Text a reader holds already (a Parquet column's distinct values), per column: a coded cell keeps its code in
    // _textStart and is neither copied nor looked up again; consumers that can (a feature view) work per value.
    private readonly ReadOnlyMemory<char>[]?[] _textValues;
    private char[] _chars = [];
    private int _charsUsed;
    // Rows the reader could not take apart (a short CSV row, a JSONL line that is no object): rare, so a list.
    private readonly List<(int Row, string Reason)> _problems = [];

    /// <summary>Creates a batch for rows of <paramref name="columns"/>.</summary>
    public RecordBatch(IReadOnlyList<string> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        Columns = columns;
        _textValues = new ReadOnlyMemory<char>[]?[columns.Count];
    }

    /// <summary>The columns, in the order the cell accessors take them.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>The number of rows.</summary>
    public int Count { get; private set; }

    /// <summary>The row's 1-based number in its file (CSV and JSONL: data rows, the header not counted).</summary>
    public long RowNumber(int row) => _rowNumbers[row];

    /// <summary>The cell's number; false when it holds a text or nothing.</summary>
    public bool TryGetNumber(int column, int row, out double value)
    {
        var cell = column * _capacity + row;
        value = _numbers[cell];
        return _state[cell] == NumberValue;
    }

    /// <summary>The cell's text; false when it holds a number or nothing.</summary>
    public bool TryGetText(int column, int row, out ReadOnlySpan<char> value)
    {
        var cell = column * _capacity + row;
        switch (_state[cell])
        {
            case TextValue:
                value = _chars.AsSpan(_textStart[cell], _textLength[cell]);
                return true;
            case CodedTextValue:
                value = _textValues[column]![_textStart[cell]].Span;
                return true;
            default:
                value = default;
                return false;
        }
    }

    /// <summary>
    /// The distinct texts the column's coded cells pick from (see <see cref="SetCodedTexts"/>); null when the column
    /// has none this batch.
    /// </summary>
    public ReadOnlyMemory<char>[]? TextValues(int column) => _textValues[column];

    /// <summary>The cell's code into <see cref="TextValues"/>; false when the cell holds no coded text.</summary>
    public bool TryGetTextCode(int column, int row, out int code)
    {
        var cell = column * _capacity + row;
        code = _textStart[cell];
        return _state[cell] == CodedTextValue;
    }

    /// <summary>True when the cell holds neither a number nor a text.</summary>
    public bool IsMissing(int column, int row) => _state[column * _capacity + row] == Missing;

    /// <summary>Empties the batch and makes room for <paramref name="capacity"/> rows, every cell missing.</summary>
    public void Reset(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        if (capacity > _capacity)
        {
            ReleaseBuffers();
            _capacity = capacity;
            var cells = Math.Max(1, Columns.Count * capacity);
            _state = ArrayPool<byte>.Shared.Rent(cells);
            _numbers = ArrayPool<double>.Shared.Rent(cells);
            _textStart = ArrayPool<int>.Shared.Rent(cells);
            _textLength = ArrayPool<int>.Shared.Rent(cells);
            _rowNumbers = ArrayPool<long>.Shared.Rent(Math.Max(1, capacity));
        }
        // Dropped, not kept: the batch must not hold a finished reader's values alive.
        Array.Clear(_textValues);
        Count = 0;
        _charsUsed = 0;
        _problems.Clear();
    }

    /// <summary>Rows the reader found malformed, with why; their cells are whatever could be read.</summary>
    public IReadOnlyList<(int Row, string Reason)> Problems => _problems;

    /// <summary>Marks <paramref name="row"/> as malformed: it will be quarantined, not scored.</summary>
    public void SetProblem(int row, string reason) => _problems.Add((row, reason));

    /// <summary>The batch's room, in rows.</summary>
    public int Capacity => _capacity;

    /// <summary>Starts a row numbered <paramref name="rowNumber"/> in its file, every cell missing; returns its index.</summary>
    public int AddRow(long rowNumber)
    {
        if (Count == _capacity)
        {
            throw new InvalidOperationException($"the batch is full at {_capacity} rows");
        }
        var row = Count++;
        _rowNumbers[row] = rowNumber;
        for (var c = 0; c < Columns.Count; c++)
        {
            _state[c * _capacity + row] = Missing;
        }
        return row;
    }

    /// <summary>
    /// Starts <paramref name="count"/> rows numbered from <paramref name="firstRowNumber"/> on, every cell missing;
    /// returns the first's index. A column at a time: what a columnar reader (Parquet) fills.
    /// </summary>
    public int AddRows(int count, long firstRowNumber)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count > _capacity - Count)
        {
            throw new InvalidOperationException($"{count} more rows do not fit the batch of {_capacity} rows holding {Count}");
        }
        var first = Count;
        for (var r = 0; r < count; r++)
        {
            _rowNumbers[first + r] = firstRowNumber + r;
        }
        for (var c = 0; c < Columns.Count; c++)
        {
            _state.AsSpan(c * _capacity + first, count).Clear();
        }
        Count = first + count;
        return first;
    }

    /// <summary>
    /// Sets a column's cells from <paramref name="row"/> on to <paramref name="values"/> (widened to double); where
    /// <paramref name="present"/> (when given) is false the cell stays missing.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void SetNumbers<T>(int column, int row, ReadOnlySpan<T> values, ReadOnlySpan<bool> present = default)
        where T : struct, System.Numerics.INumberBase<T>
    {
        var cell = column * _capacity + row;
        var numbers = _numbers.AsSpan(cell, values.Length);
        if (typeof(T) == typeof(double))
        {
            System.Runtime.InteropServices.MemoryMarshal.Cast<T, double>(values).CopyTo(numbers);
        }
        else
        {
            for (var i = 0; i < numbers.Length; i++)
            {
                numbers[i] = double.CreateTruncating(values[i]);
            }
        }
        var state = _state.AsSpan(cell, values.Length);
        if (present.IsEmpty)
        {
            state.Fill(NumberValue);
            return;
        }
        for (var i = 0; i < state.Length; i++)
        {
            state[i] = present[i] ? NumberValue : Missing;
        }
    }

    /// <summary>Sets a cell to a number.</summary>
    public void SetNumber(int column, int row, double value)
    {
        var cell = column * _capacity + row;
        _state[cell] = NumberValue;
        _numbers[cell] = value;
    }

    /// <summary>Sets a cell to a text.</summary>
    public void SetText(int column, int row, ReadOnlySpan<char> value)
    {
        var cell = column * _capacity + row;
        var start = _charsUsed;
        if (start + value.Length > _chars.Length)
        {
            var grown = ArrayPool<char>.Shared.Rent(Math.Max(start + value.Length, Math.Max(1024, _chars.Length * 2)));
            _chars.AsSpan(0, start).CopyTo(grown);
            if (_chars.Length > 0)
            {
                ArrayPool<char>.Shared.Return(_chars);
            }
            _chars = grown;
        }
        value.CopyTo(_chars.AsSpan(start));
        _charsUsed = start + value.Length;
        _state[cell] = TextValue;
        _textStart[cell] = start;
        _textLength[cell] = value.Length;
    }

    /// <summary>
    /// Sets a column's cells from <paramref name="row"/> on to the texts <paramref name="codes"/> pick from
    /// <paramref name="values"/> (a code below 0: missing). The values are referenced, not copied, and must stay
    /// unchanged until the batch is reset: a dictionary-encoded column's cells share its few distinct values, and
    /// keep their codes, so that a consumer can work once per distinct value (<see cref="TextValues"/>). A column
    /// takes its codes from one set of values per batch; cells coded against another are copied as plain text.
    /// </summary>
    public void SetCodedTexts(int column, int row, ReadOnlySpan<int> codes, ReadOnlyMemory<char>[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        foreach (var code in codes)
        {
            // Checked here, once, so that reading a coded cell needs no check.
            if (code >= values.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(codes), code, $"a text code must be below the {values.Length} values it picks from");
            }
        }
        var current = _textValues[column];
        if (current is not null && !ReferenceEquals(current, values))
        {
            for (var i = 0; i < codes.Length; i++)
            {
                if (codes[i] >= 0)
                {
                    SetText(column, row + i, values[codes[i]].Span);
                }
                else
                {
                    _state[column * _capacity + row + i] = Missing;
                }
            }
            return;
        }
        _textValues[column] = values;
        var cell = column * _capacity + row;
        var state = _state.AsSpan(cell, codes.Length);
        codes.CopyTo(_textStart.AsSpan(cell, codes.Length));
        for (var i = 0; i < codes.Length; i++)
        {
            state[i] = codes[i] >= 0 ? CodedTextValue : Missing;
        }
    }

    /// <summary>The cell as text, for keys, quarantine and comparisons: a number written invariantly (round-trip), missing as null.</summary>
    public string? CellText(int column, int row)
    {
        // A coded cell's value is usually a whole string already (a Parquet column's distinct values): that string,
        // not a copy a row.
        if (TryGetTextCode(column, row, out var code)
            && System.Runtime.InteropServices.MemoryMarshal.TryGetString(_textValues[column]![code], out var whole, out var start, out var length)
            && start == 0 && length == whole.Length)
        {
            return whole;
        }
        if (TryGetText(column, row, out var text))
        {
            return text.ToString();
        }
        if (!TryGetNumber(column, row, out var number))
        {
            return null;
        }
        // Whole numbers (ids, the usual key) below 10^15 are written by "R" as their digits: formatted as integers,
        // the same text at a fraction of the cost. Negative zero ("-0") and larger ones ("1E+15") take "R" itself.
        return Math.Abs(number) < 1e15 && number == Math.Floor(number) && !(number == 0 && double.IsNegative(number))
            ? ((long)number).ToString(System.Globalization.CultureInfo.InvariantCulture)
            : number.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <inheritdoc />
    public void Dispose() => ReleaseBuffers();

    private void ReleaseBuffers()
    {
        Return(ref _state);
        Return(ref _numbers);
        Return(ref _textStart);
        Return(ref _textLength);
        Return(ref _rowNumbers);
        Return(ref _chars);
        Array.Clear(_textValues);
        _capacity = 0;
        Count = 0;
    }

    private static void Return<T>(ref T[] buffer)
    {
        if (buffer.Length > 0)
        {
            ArrayPool<T>.Shared.Return(buffer);
        }
        buffer = [];
    }
}
