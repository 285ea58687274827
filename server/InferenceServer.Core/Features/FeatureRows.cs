using System.Buffers;

namespace InferenceServer.Core.Features;

/// <summary>
/// The raw values of a batch of rows for one view, column by column: per raw field a request value (a cell of
/// <see cref="CellColumns"/>: a number, a text, a coded text, or missing), per store field the value the store
/// answered (UTF-8 text, or absent), and per row when its stored values were written. Rented from
/// <see cref="FeatureView.RentRows"/> and pooled: once rented, filling it and transforming it allocate nothing per row.
/// Its setters check their rows and fields. Not thread-safe; one holder at a time; dispose to give it back.
/// </summary>
public sealed class FeatureRows : IDisposable
{
    // Rows kept pooled at most: a batch bigger than this gives its buffers back instead of keeping them.
    private const int MaxPooledCapacity = 4096;

    private readonly FeatureView _view;
    private readonly int _fieldCount;
    private readonly int _storeFieldCount;
    private int _capacity;
    // Store cells are indexed storeField * _capacity + row; a length of -1 is an absent value.
    private int[] _storeStart = [];
    private int[] _storeLength = [];
    private byte[] _storeBytes = [];
    private int _storeBytesUsed;
    private long[] _storedAt = [];
    private bool _rented;

    internal FeatureRows(FeatureView view)
    {
        _view = view;
        _fieldCount = view.Fields.Count;
        _storeFieldCount = view.StoreFields.Count;
        Request = new CellColumns(_fieldCount);
    }

    /// <summary>The view the rows belong to.</summary>
    public FeatureView View => _view;

    /// <summary>The number of rows.</summary>
    public int Count => Request.Count;

    // The request values, one column per field of the view (FeatureField.Index).
    internal CellColumns Request { get; }

    /// <summary>Sets a request value: a number.</summary>
    public void SetNumber(int row, int field, double value)
    {
        Check(row, field);
        Request.SetNumber(field, row, value);
    }

    /// <summary>Sets a request value: a text (for a number field it is parsed invariantly when transformed).</summary>
    public void SetText(int row, int field, ReadOnlySpan<char> value)
    {
        Check(row, field);
        Request.SetText(field, row, value);
    }

    /// <summary>Sets a request value: a text given as UTF-8 (invalid sequences read as U+FFFD).</summary>
    public void SetText(int row, int field, ReadOnlySpan<byte> utf8)
    {
        Check(row, field);
        Request.SetText(field, row, utf8);
    }

    /// <summary>
    /// Sets the distinct texts a field's rows then name by code (<see cref="SetTextCode"/>): a column whose values
    /// repeat (a Parquet dictionary) is encoded once per distinct value, with exactly the result each row would get
    /// from <see cref="SetText(int, int, ReadOnlySpan{char})"/>. The values are referenced, not copied, and must stay
    /// unchanged until the rows are disposed; a field takes one set of values per rental.
    /// </summary>
    public void SetTextValues(int field, ReadOnlyMemory<char>[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        ObjectDisposedException.ThrowIf(!_rented, this);
        CheckField(field);
        if (!Request.TrySetTextValues(field, values))
        {
            throw new InvalidOperationException($"field '{_view.Fields[field].Name}' already has its text values for these rows");
        }
    }

    /// <summary>Sets a request value: the text <paramref name="code"/> names among the field's <see cref="SetTextValues"/>.</summary>
    public void SetTextCode(int row, int field, int code)
    {
        Check(row, field);
        var values = Request.TextValues(field) ?? throw new InvalidOperationException($"field '{_view.Fields[field].Name}' has no text values to code into: set them first");
        if ((uint)code >= (uint)values.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(code), code, $"field '{_view.Fields[field].Name}' has {values.Length} text values");
        }
        Request.SetTextCode(field, row, code);
    }

    /// <summary>Marks a request value as not given (every value starts so).</summary>
    public void SetMissing(int row, int field)
    {
        Check(row, field);
        Request.SetMissing(field, row);
    }

    /// <summary>When the row's stored values were written, in unix milliseconds (for their TTL); 0: unknown or not found.</summary>
    public void SetStoredAt(int row, long unixMilliseconds)
    {
        CheckRow(row);
        _storedAt[row] = unixMilliseconds;
    }

    /// <summary>Sets a stored value as the store answered it: UTF-8 text (numbers are parsed invariantly).</summary>
    /// <param name="row">The row.</param>
    /// <param name="storeFieldIndex">The field's index in <see cref="FeatureView.StoreFields"/>.</param>
    /// <param name="utf8">The value's bytes.</param>
    public void SetStoreValue(int row, int storeFieldIndex, ReadOnlySpan<byte> utf8)
    {
        CheckRow(row);
        if ((uint)storeFieldIndex >= (uint)_storeFieldCount)
        {
            throw new ArgumentOutOfRangeException(nameof(storeFieldIndex), storeFieldIndex, $"view '{_view.Name}' has {_storeFieldCount} store fields");
        }
        var start = _storeBytesUsed;
        if (start + utf8.Length > _storeBytes.Length)
        {
            _storeBytes = Grow(_storeBytes, start + utf8.Length);
        }
        utf8.CopyTo(_storeBytes.AsSpan(start));
        _storeBytesUsed = start + utf8.Length;
        var cell = storeFieldIndex * _capacity + row;
        _storeStart[cell] = start;
        _storeLength[cell] = utf8.Length;
    }

    /// <summary>Gives the rows back to their view's pool.</summary>
    public void Dispose()
    {
        if (!_rented)
        {
            return;
        }
        _rented = false;
        if (_capacity > MaxPooledCapacity)
        {
            ReleaseBuffers();
        }
        else
        {
            // Emptied: the pool must not keep a reader's values alive.
            Request.Reset(0);
        }
        _view.ReturnRows(this);
    }

    // Called by the pool before handing the rows out: every value missing, nothing stored.
    internal void Reset(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count > _capacity)
        {
            ReleaseBuffers();
            _capacity = count;
            var storeCells = Math.Max(1, _storeFieldCount * count);
            _storeStart = ArrayPool<int>.Shared.Rent(storeCells);
            _storeLength = ArrayPool<int>.Shared.Rent(storeCells);
            _storedAt = ArrayPool<long>.Shared.Rent(Math.Max(1, count));
        }
        Request.Reset(count);
        Request.AddRows(count);
        _rented = true;
        _storeBytesUsed = 0;
        for (var s = 0; s < _storeFieldCount; s++)
        {
            _storeLength.AsSpan(s * _capacity, count).Fill(-1);
        }
        _storedAt.AsSpan(0, count).Clear();
    }

    internal bool TryGetStoreValue(int storeField, int row, out ReadOnlySpan<byte> value)
    {
        var cell = storeField * _capacity + row;
        var length = _storeLength[cell];
        if (length < 0)
        {
            value = default;
            return false;
        }
        value = _storeBytes.AsSpan(_storeStart[cell], length);
        return true;
    }

    internal long StoredAt(int row) => _storedAt[row];

    private void Check(int row, int field)
    {
        CheckRow(row);
        CheckField(field);
    }

    private void CheckField(int field)
    {
        if ((uint)field >= (uint)_fieldCount)
        {
            throw new ArgumentOutOfRangeException(nameof(field), field, $"view '{_view.Name}' has {_fieldCount} fields");
        }
    }

    private void CheckRow(int row)
    {
        ObjectDisposedException.ThrowIf(!_rented, this);
        if ((uint)row >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(row), row, $"the batch has {Count} rows");
        }
    }

    private static T[] Grow<T>(T[] buffer, int needed)
    {
        var grown = ArrayPool<T>.Shared.Rent(Math.Max(needed, Math.Max(256, buffer.Length * 2)));
        buffer.CopyTo(grown, 0);
        if (buffer.Length > 0)
        {
            ArrayPool<T>.Shared.Return(buffer);
        }
        return grown;
    }

    private void ReleaseBuffers()
    {
        Request.Dispose();
        Return(ref _storeStart);
        Return(ref _storeLength);
        Return(ref _storedAt);
        Return(ref _storeBytes);
        _capacity = 0;
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
