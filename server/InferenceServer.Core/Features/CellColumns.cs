using System.Buffers;
using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace InferenceServer.Core.Features;

/// <summary>
/// Raw values column by column, as a feature view reads them: per cell a number, a text, a coded text (a code into
/// the column's distinct values, as a dictionary-encoded Parquet column gives them), or missing. The one store behind
/// a view's request values (<see cref="FeatureRows"/>) and a scoring batch's records (<see cref="Scoring.RecordBatch"/>),
/// so that a batch's cells reach the view by a plain copy (<see cref="CopyCell"/>). Pooled buffers, reused across
/// <see cref="Reset"/>s: filling it allocates nothing per row once it has grown to the batch size. The setters take
/// their cells on trust (a hot path per cell); its holders check what their callers give. Not thread-safe; one
/// holder at a time.
/// </summary>
public sealed class CellColumns : IDisposable
{
    private const byte Missing = 0;
    private const byte NumberValue = 1;
    private const byte TextValue = 2;
    private const byte CodedTextValue = 3;

    private readonly int _columnCount;
    private int _capacity;
    // Cells are indexed column * _capacity + row: a column is contiguous, as the feature engine reads it and a
    // columnar reader (Parquet) writes it.
    private byte[] _state = [];
    private double[] _numbers = [];
    // A text cell's place in _chars; a coded cell's code is in _textStart.
    private int[] _textStart = [];
    private int[] _textLength = [];
    private char[] _chars = [];
    private int _charsUsed;
    // Per column, the distinct texts its coded cells pick from: referenced, not copied, so that a consumer (the
    // feature engine) works once per distinct value rather than once per row.
    private readonly ReadOnlyMemory<char>[]?[] _textValues;

    /// <summary>Creates an empty store of <paramref name="columnCount"/> columns; <see cref="Reset"/> makes room.</summary>
    public CellColumns(int columnCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(columnCount);
        _columnCount = columnCount;
        _textValues = new ReadOnlyMemory<char>[]?[columnCount];
    }

    /// <summary>The number of rows added since the last <see cref="Reset"/>.</summary>
    public int Count { get; private set; }

    /// <summary>The room, in rows.</summary>
    public int Capacity => _capacity;

    /// <summary>Empties the store and makes room for <paramref name="capacity"/> rows.</summary>
    public void Reset(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        if (capacity > _capacity)
        {
            Dispose();
            _capacity = capacity;
            var cells = Math.Max(1, _columnCount * capacity);
            _state = ArrayPool<byte>.Shared.Rent(cells);
            _numbers = ArrayPool<double>.Shared.Rent(cells);
            _textStart = ArrayPool<int>.Shared.Rent(cells);
            _textLength = ArrayPool<int>.Shared.Rent(cells);
        }
        // Dropped, not kept: a store kept for reuse must not hold a finished reader's values alive.
        Array.Clear(_textValues);
        Count = 0;
        _charsUsed = 0;
    }

    /// <summary>Adds a row, every cell missing; returns its index.</summary>
    public int AddRow()
    {
        if (Count == _capacity)
        {
            throw new InvalidOperationException($"the batch is full at {_capacity} rows");
        }
        var row = Count++;
        for (var c = 0; c < _columnCount; c++)
        {
            _state[c * _capacity + row] = Missing;
        }
        return row;
    }

    /// <summary>Adds <paramref name="count"/> rows, every cell missing; returns the first's index.</summary>
    public int AddRows(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count > _capacity - Count)
        {
            throw new InvalidOperationException($"{count} more rows do not fit the batch of {_capacity} rows holding {Count}");
        }
        var first = Count;
        for (var c = 0; c < _columnCount; c++)
        {
            _state.AsSpan(c * _capacity + first, count).Clear();
        }
        Count = first + count;
        return first;
    }

    /// <summary>The cell's number; false when it holds a text or nothing.</summary>
    public bool TryGetNumber(int column, int row, out double value)
    {
        var cell = column * _capacity + row;
        value = _numbers[cell];
        return _state[cell] == NumberValue;
    }

    /// <summary>The cell's text (coded or not); false when it holds a number or nothing.</summary>
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

    /// <summary>The distinct texts the column's coded cells pick from; null when it has none since the last reset.</summary>
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

    /// <summary>Sets a cell to a number.</summary>
    public void SetNumber(int column, int row, double value)
    {
        var cell = column * _capacity + row;
        _state[cell] = NumberValue;
        _numbers[cell] = value;
    }

    /// <summary>
    /// Sets a column's cells from <paramref name="row"/> on to <paramref name="values"/> (widened to double); where
    /// <paramref name="present"/> (when given) is false the cell is missing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void SetNumbers<T>(int column, int row, ReadOnlySpan<T> values, ReadOnlySpan<bool> present = default)
        where T : struct, INumberBase<T>
    {
        var cell = column * _capacity + row;
        var numbers = _numbers.AsSpan(cell, values.Length);
        if (typeof(T) == typeof(double))
        {
            MemoryMarshal.Cast<T, double>(values).CopyTo(numbers);
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

    /// <summary>Sets a cell to a text, copied (it may be another of this store's cells).</summary>
    public void SetText(int column, int row, ReadOnlySpan<char> value)
    {
        var start = _charsUsed;
        var replaced = start + value.Length > _chars.Length ? Grow(start + value.Length) : null;
        value.CopyTo(_chars.AsSpan(start));
        if (replaced is not null)
        {
            // Given back only now: the value may lie in it.
            GiveBack(replaced);
        }
        SetTextCell(column, row, start, value.Length);
    }

    /// <summary>Sets a cell to a text given as UTF-8 (invalid sequences read as U+FFFD).</summary>
    public void SetText(int column, int row, ReadOnlySpan<byte> utf8)
    {
        var start = _charsUsed;
        var needed = start + Encoding.UTF8.GetMaxCharCount(utf8.Length);
        if (needed > _chars.Length)
        {
            GiveBack(Grow(needed));
        }
        SetTextCell(column, row, start, Encoding.UTF8.GetChars(utf8, _chars.AsSpan(start)));
    }

    /// <summary>
    /// Sets a column's cells from <paramref name="row"/> on to the texts <paramref name="codes"/> pick from
    /// <paramref name="values"/> (a code below 0: missing). The values are referenced, not copied, and must stay
    /// unchanged until the store is reset: a dictionary-encoded column's cells share its few distinct values, and
    /// keep their codes, so that a consumer can work once per distinct value (<see cref="TextValues"/>). A column
    /// takes its codes from one set of values per reset; cells coded against another are copied as plain text.
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
        if (!TrySetTextValues(column, values))
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
        var cell = column * _capacity + row;
        var state = _state.AsSpan(cell, codes.Length);
        codes.CopyTo(_textStart.AsSpan(cell, codes.Length));
        for (var i = 0; i < codes.Length; i++)
        {
            state[i] = codes[i] >= 0 ? CodedTextValue : Missing;
        }
    }

    /// <summary>Marks a cell as missing.</summary>
    public void SetMissing(int column, int row) => _state[column * _capacity + row] = Missing;

    /// <summary>
    /// Sets a cell to what <paramref name="from"/>'s cell holds: its number, its text, or its code (with the column's
    /// distinct values, when this column has none or the same; otherwise the text the code names), or missing.
    /// </summary>
    public void CopyCell(CellColumns from, int fromColumn, int fromRow, int column, int row)
    {
        ArgumentNullException.ThrowIfNull(from);
        var source = fromColumn * from._capacity + fromRow;
        switch (from._state[source])
        {
            case NumberValue:
                SetNumber(column, row, from._numbers[source]);
                break;
            case TextValue:
                SetText(column, row, from._chars.AsSpan(from._textStart[source], from._textLength[source]));
                break;
            case CodedTextValue:
                var values = from._textValues[fromColumn]!;
                var code = from._textStart[source];
                if (TrySetTextValues(column, values))
                {
                    SetTextCode(column, row, code);
                }
                else
                {
                    SetText(column, row, values[code].Span);
                }
                break;
            default:
                SetMissing(column, row);
                break;
        }
    }

    /// <summary>The cell as text, for keys, quarantine and comparisons: a number written invariantly (round-trip), missing as null.</summary>
    public string? CellText(int column, int row)
    {
        // A coded cell's value is usually a whole string already (a Parquet column's distinct values): that string,
        // not a copy a row.
        if (TryGetTextCode(column, row, out var code)
            && MemoryMarshal.TryGetString(_textValues[column]![code], out var whole, out var start, out var length)
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
            ? ((long)number).ToString(CultureInfo.InvariantCulture)
            : number.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>Gives the buffers back to the pool; a later <see cref="Reset"/> rents them again.</summary>
    public void Dispose()
    {
        Return(ref _state);
        Return(ref _numbers);
        Return(ref _textStart);
        Return(ref _textLength);
        Return(ref _chars);
        Array.Clear(_textValues);
        _capacity = 0;
        _charsUsed = 0;
        Count = 0;
    }

    // Makes values the column's distinct texts, unless it has others since the last reset: then false.
    internal bool TrySetTextValues(int column, ReadOnlyMemory<char>[] values)
    {
        var current = _textValues[column];
        if (current is not null && !ReferenceEquals(current, values))
        {
            return false;
        }
        _textValues[column] = values;
        return true;
    }

    // Codes a cell into the column's distinct texts; the caller has checked that the column has them and that the code
    // is one of them, so that reading the cell needs no check.
    internal void SetTextCode(int column, int row, int code)
    {
        var cell = column * _capacity + row;
        _state[cell] = CodedTextValue;
        _textStart[cell] = code;
    }

    private void SetTextCell(int column, int row, int start, int length)
    {
        _charsUsed = start + length;
        var cell = column * _capacity + row;
        _state[cell] = TextValue;
        _textStart[cell] = start;
        _textLength[cell] = length;
    }

    // Grows the text buffer to hold needed chars, its text kept; returns the buffer it replaced, for the caller to give
    // back once nothing reads it. Out of line: the setters' common path, with room, stays small.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private char[] Grow(int needed)
    {
        var replaced = _chars;
        _chars = ArrayPool<char>.Shared.Rent(Math.Max(needed, Math.Max(1024, replaced.Length * 2)));
        replaced.AsSpan(0, _charsUsed).CopyTo(_chars);
        return replaced;
    }

    private static void GiveBack(char[] buffer)
    {
        if (buffer.Length > 0)
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
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
