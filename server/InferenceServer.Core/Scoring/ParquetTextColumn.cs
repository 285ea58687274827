using System.Buffers;
using System.Runtime.InteropServices;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// A text Parquet column kept as a code per row into its distinct values, each held once: a dictionary-encoded
/// column of a million rows and a dozen values costs 4 MB, not an object or a 16-byte reference per row. A batch's
/// cells reference the distinct values, which stay valid after the column is disposed (they are ours, not the pool's).
/// </summary>
internal sealed class ParquetTextColumn : ParquetColumn
{
    // Distinct values recognised by the identity of Parquet.Net's decoded buffer before their text is hashed: the
    // values of a dictionary-encoded chunk all share their dictionary entry's buffer. Bounded, since a plain-encoded
    // chunk gives each value its own buffer.
    private const int MaxBuffersRemembered = 4096;

    private int[] _codes;
    private readonly ReadOnlyMemory<char>[] _values;
    private readonly int _rows;
    private readonly long _valueBytes;

    private ParquetTextColumn(int[] codes, ReadOnlyMemory<char>[] values, long valueBytes, int rows)
    {
        _codes = codes;
        _values = values;
        _valueBytes = valueBytes;
        _rows = rows;
    }

    /// <summary>The distinct values (empty text and nulls are no value: the cell is missing).</summary>
    public int DistinctValues => _values.Length;

    public override long Bytes => _rows * 4L + _valueBytes;

    /// <summary>
    /// Encodes a chunk as Parquet.Net read it: <paramref name="values"/> are the defined values in order (nulls
    /// left out), <paramref name="levels"/> (when the column is nullable) says per row whether it has one.
    /// </summary>
    public static ParquetTextColumn Encode(ReadOnlySpan<ReadOnlyMemory<char>> values, ReadOnlySpan<int> levels, int maxLevel, int rows)
    {
        var codes = ColumnPool<int>.Shared.Rent(Math.Max(1, rows));
        var builder = new Builder();
        if (levels.IsEmpty)
        {
            for (var i = 0; i < rows; i++)
            {
                codes[i] = builder.Code(values[i]);
            }
        }
        else
        {
            var v = 0;
            for (var i = 0; i < rows; i++)
            {
                codes[i] = levels[i] == maxLevel ? builder.Code(values[v++]) : -1;
            }
        }
        return new ParquetTextColumn(codes, [.. builder.Values], builder.Bytes, rows);
    }

    /// <summary>Encodes texts given one per row (null or empty: missing), for the columns formatted as text (dates).</summary>
    public static ParquetTextColumn Encode(IReadOnlyList<string?> texts)
    {
        var codes = ColumnPool<int>.Shared.Rent(Math.Max(1, texts.Count));
        var builder = new Builder();
        for (var i = 0; i < texts.Count; i++)
        {
            codes[i] = texts[i] is { } text ? builder.Code(text.AsMemory()) : -1;
        }
        return new ParquetTextColumn(codes, [.. builder.Values], builder.Bytes, texts.Count);
    }

    public override void Fill(RecordBatch batch, int column, int row, int from, int count) =>
        batch.Cells.SetCodedTexts(column, row, _codes.AsSpan(from, count), _values);

    public override void Dispose()
    {
        if (_codes.Length > 0)
        {
            ColumnPool<int>.Shared.Return(_codes);
            _codes = [];
        }
    }

    private sealed class Builder
    {
        // A dictionary-encoded chunk's values are found among the first this many distinct ones by comparing the
        // memory itself (its buffer's identity, offset and length), before anything costlier: taking the memory
        // apart, hashing its buffer's identity, hashing its text.
        private const int ValuesScanned = 16;

        private readonly Dictionary<string, int> _byText = new(StringComparer.Ordinal);
        private readonly Dictionary<char[], int> _byBuffer = new(ReferenceEqualityComparer.Instance);
        private readonly ReadOnlyMemory<char>[] _scanned = new ReadOnlyMemory<char>[ValuesScanned];
        private readonly int[] _scannedCodes = new int[ValuesScanned];
        private int _scannedCount;
        private ReadOnlyMemory<char> _last;
        private int _lastCode = -1;

        public List<ReadOnlyMemory<char>> Values { get; } = [];

        public long Bytes { get; private set; }

        public int Code(ReadOnlyMemory<char> value)
        {
            if (value.IsEmpty)
            {
                return -1;
            }
            // Parquet.Net decodes each dictionary entry into a buffer of its own, and hands every row with that entry
            // the same memory: the same memory is the same value. (The buffers stay alive while this column holds
            // them, so none is reused for another value.)
            if (value.Equals(_last))
            {
                return _lastCode;
            }
            for (var i = 0; i < _scannedCount; i++)
            {
                if (value.Equals(_scanned[i]))
                {
                    _last = value;
                    _lastCode = _scannedCodes[i];
                    return _lastCode;
                }
            }
            char[]? buffer = null;
            if (MemoryMarshal.TryGetArray(value, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length)
            {
                buffer = segment.Array;
                if (_byBuffer.TryGetValue(buffer, out var known))
                {
                    _last = value;
                    _lastCode = known;
                    return known;
                }
            }
            var lookup = _byText.GetAlternateLookup<ReadOnlySpan<char>>();
            if (!lookup.TryGetValue(value.Span, out var code))
            {
                var text = value.ToString();
                code = Values.Count;
                _byText.Add(text, code);
                Values.Add(text.AsMemory());
                // A string: its header and length beside its characters; and its entry in the lookup.
                Bytes += 2L * text.Length + 64;
            }
            if (_scannedCount < ValuesScanned)
            {
                _scanned[_scannedCount] = value;
                _scannedCodes[_scannedCount++] = code;
            }
            else if (buffer is not null && _byBuffer.Count < MaxBuffersRemembered)
            {
                _byBuffer[buffer] = code;
            }
            _last = value;
            _lastCode = code;
            return code;
        }
    }
}
