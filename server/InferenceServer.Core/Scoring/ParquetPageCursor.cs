using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// Reads one flat column chunk of a Parquet file a page at a time, straight into the batches: what it holds is the
/// page being read (and the chunk's dictionary), never the chunk's values, so a row group of any size costs its pages,
/// not its rows. Written from the Parquet format specification because Parquet.Net 6.1 decodes a chunk only whole (its
/// page reader and decoders are internal); Parquet.Net still reads the footer that says where the chunk lies. Reads
/// data pages (versions 1 and 2) and dictionary pages; PLAIN and PLAIN_/RLE_DICTIONARY values of BOOLEAN, INT32,
/// INT64, FLOAT, DOUBLE and BYTE_ARRAY (UTF-8 text); RLE definition levels up to 1 (<see cref="Supports"/>).
/// Numbers reach the batch as doubles, text as codes into the dictionary or, from plain pages, as text; an empty text
/// is a missing cell, as in the whole-chunk path.
/// </summary>
internal sealed class ParquetPageCursor : IDisposable
{
    public const int Boolean = 0;
    public const int Int32 = 1;
    public const int Int64 = 2;
    public const int Float = 4;
    public const int Double = 5;
    public const int ByteArray = 6;

    // A header past this is not a header: statistics of a huge text would be the only way to get near it.
    private const int MaxHeaderBytes = 16 << 20;

    private readonly SafeFileHandle _file;
    private readonly string _where;
    private readonly int _type;
    private readonly int _codec;
    private readonly int _maxDefinition;
    private readonly long _start;
    private readonly long _end;
    private readonly long _rows;
    private readonly RleBitPackedDecoder _levelDecoder = new();
    private readonly RleBitPackedDecoder _valueDecoder = new();
    private long _position;
    private long _rowsRead;
    private byte[] _header = [];
    private byte[] _page = [];
    private int _pageLength;
    private long _pageOffset;
    private int _valuesLeft;
    private int _valueEncoding;
    private int _offset;
    private long _bit;
    private double[]? _numberDictionary;
    private ReadOnlyMemory<char>[]? _textDictionary;
    private int[]? _textCodes;
    private int[] _levels = [];
    private int[] _indices = [];
    private double[] _numbers = [];
    private bool[] _present = [];
    private long _dictionaryBytes;

    private ParquetPageCursor(SafeFileHandle file, string where, int type, int codec, int maxDefinition, long start, long length, long rows)
    {
        _file = file;
        _where = where;
        _type = type;
        _codec = codec;
        _maxDefinition = maxDefinition;
        _start = start;
        _end = start + length;
        _rows = rows;
        _position = start;
    }

    /// <summary>What reading the chunk holds at once: its largest page, its decoded dictionary and the batch scratch.</summary>
    public long HeldBytes { get; private set; }

    /// <summary>What one page takes while it passes (its compressed bytes, until decompressed).</summary>
    public long PassingBytes { get; private set; }

    /// <summary>
    /// Why the page reader does not read a chunk (null when it does): its physical type, its value type as Parquet.Net
    /// gives it, its codec, its encodings (numbers from the specification) and its levels.
    /// </summary>
    public static string? Supports(int physicalType, Type clrType, int codec, IEnumerable<int> encodings, int maxDefinition, int maxRepetition)
    {
        var typeFits = (physicalType, clrType) switch
        {
            (Boolean, var t) when t == typeof(bool) => true,
            (Int32, var t) when t == typeof(int) => true,
            (Int64, var t) when t == typeof(long) => true,
            (Float, var t) when t == typeof(float) => true,
            (Double, var t) when t == typeof(double) => true,
            (ByteArray, var t) when t == typeof(string) || t == typeof(ReadOnlyMemory<char>) => true,
            _ => false,
        };
        if (!typeFits)
        {
            var name = physicalType switch
            {
                Boolean => "BOOLEAN", Int32 => "INT32", Int64 => "INT64", 3 => "INT96", Float => "FLOAT", Double => "DOUBLE",
                ByteArray => "BYTE_ARRAY", 7 => "FIXED_LEN_BYTE_ARRAY", _ => $"physical type {physicalType}",
            };
            return $"{name} with a logical type (a date, timestamp, decimal, small or unsigned integer, or binary) the page reader does not convert";
        }
        if (maxRepetition != 0 || maxDefinition > 1)
        {
            return "a nested column";
        }
        if (!ParquetCodecs.IsSupported(codec))
        {
            return ParquetCodecs.Describe(codec);
        }
        foreach (var encoding in encodings)
        {
            if (encoding is not (ParquetPageHeader.Plain or ParquetPageHeader.PlainDictionary or ParquetPageHeader.Rle or ParquetPageHeader.RleDictionary))
            {
                return ParquetPageHeader.DescribeEncoding(encoding);
            }
        }
        return null;
    }

    /// <summary>
    /// Opens the chunk of <paramref name="rows"/> rows at <paramref name="start"/> (<paramref name="length"/> bytes)
    /// of <paramref name="file"/> and walks its page headers, to know what it will hold (<see cref="HeldBytes"/>, with
    /// scratch for batches of <paramref name="batchRows"/>) and to refuse a corrupt chunk before any row is scored.
    /// <paramref name="physicalType"/> and <paramref name="codec"/> are the specification's numbers; the column is
    /// flat, its values defined at <paramref name="maxDefinition"/> (0: no nulls).
    /// <paramref name="where"/> names the file, row group and column in messages.
    /// </summary>
    /// <exception cref="ScoreException">A page header is corrupt or the chunk is cut short.</exception>
    public static ParquetPageCursor Open(SafeFileHandle file, string where, int physicalType, int codec, int maxDefinition, long start, long length, long rows, int batchRows)
    {
        var cursor = new ParquetPageCursor(file, where, physicalType, codec, maxDefinition, start, length, rows);
        cursor.Scan(batchRows);
        return cursor;
    }

    private void Scan(int batchRows)
    {
        long largestPage = 0, largestCompressed = 0, dictionaryBytes = 0, dictionaryValues = 0, values = 0;
        var position = _start;
        while (position < _end)
        {
            var (header, headerLength) = ReadHeader(position);
            var body = position + headerLength;
            if (header.CompressedSize > _end - body)
            {
                throw Corrupt(position, $"the {ParquetPageHeader.Describe(header.Type)} claims {header.CompressedSize} bytes, past the column chunk's end at byte {_end} (is the file cut short?)");
            }
            largestPage = Math.Max(largestPage, header.UncompressedSize);
            largestCompressed = Math.Max(largestCompressed, header.CompressedSize);
            if (header.Type == ParquetPageHeader.DictionaryPage)
            {
                dictionaryBytes += header.UncompressedSize;
                dictionaryValues += header.Values;
            }
            else if (header.Type is ParquetPageHeader.DataPage or ParquetPageHeader.DataPageV2)
            {
                values += header.Values;
            }
            position = body + header.CompressedSize;
        }
        if (values != _rows)
        {
            throw Corrupt(_start, $"its pages hold {values} values, but the row group has {_rows} rows (is the file cut short?)");
        }
        // Decoded, a text is a string (its UTF-16 characters and a header), its slot and its code.
        var dictionary = _type == ByteArray ? 2 * dictionaryBytes + 60 * dictionaryValues : 8 * dictionaryValues;
        // Scratch a batch: levels, indices, numbers, presence, a header, one text's characters. The pool hands out
        // arrays in powers of two.
        var rows = (long)BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, batchRows));
        var scratch = rows * (4 + 4 + 8 + 1) + (16 << 10);
        HeldBytes = RoundUp(largestPage) + dictionary + scratch;
        PassingBytes = _codec == ParquetCodecs.Uncompressed ? 0 : RoundUp(largestCompressed);
    }

    private static long RoundUp(long bytes) => bytes <= 1 ? 1 : (long)BitOperations.RoundUpToPowerOf2((ulong)bytes);

    /// <summary>What the cursor holds now: its buffers and its decoded dictionary.</summary>
    public long CurrentBytes => _header.Length + _page.Length + 4L * _levels.Length + 4L * _indices.Length + 8L * _numbers.Length
        + _present.Length + _dictionaryBytes;

    /// <summary>Sets <paramref name="count"/> cells of <paramref name="batch"/>'s <paramref name="column"/> from <paramref name="row"/> on to the chunk's next values.</summary>
    /// <exception cref="ScoreException">A page is corrupt, cut short or encoded in a way this reader does not read.</exception>
    public void Fill(RecordBatch batch, int column, int row, int count)
    {
        try
        {
            while (count > 0)
            {
                if (_valuesLeft == 0)
                {
                    NextDataPage();
                }
                var n = Math.Min(count, _valuesLeft);
                FillFromPage(batch, column, row, n);
                _valuesLeft -= n;
                _rowsRead += n;
                row += n;
                count -= n;
            }
        }
        catch (InvalidDataException e)
        {
            throw Corrupt(_pageOffset, e.Message);
        }
    }

    private void FillFromPage(RecordBatch batch, int column, int row, int n)
    {
        Grow(ref _levels, n);
        Grow(ref _indices, n);
        Grow(ref _present, n);
        var defined = n;
        if (_maxDefinition > 0)
        {
            var levels = _levels.AsSpan(0, n);
            _levelDecoder.Read(levels);
            defined = 0;
            for (var i = 0; i < n; i++)
            {
                var has = levels[i] == _maxDefinition;
                _present[i] = has;
                defined += has ? 1 : 0;
            }
        }
        var present = defined == n ? default : _present.AsSpan(0, n);
        if (_type == ByteArray)
        {
            FillTexts(batch, column, row, n, defined, present);
            return;
        }
        Grow(ref _numbers, n);
        var numbers = _numbers.AsSpan(0, n);
        DecodeNumbers(numbers[..defined]);
        if (!present.IsEmpty)
        {
            // The defined values are packed at the front: moved to their rows from the back, so none is overwritten
            // before it moves.
            var v = defined - 1;
            for (var i = n - 1; i >= 0; i--)
            {
                numbers[i] = present[i] ? numbers[v--] : 0;
            }
        }
        batch.Cells.SetNumbers<double>(column, row, numbers, present);
    }

    private void DecodeNumbers(Span<double> target)
    {
        if (_valueEncoding != ParquetPageHeader.Plain)
        {
            if (_type == Boolean && _valueEncoding == ParquetPageHeader.Rle)
            {
                var bits = _indices.AsSpan(0, target.Length);
                _valueDecoder.Read(bits);
                for (var i = 0; i < target.Length; i++)
                {
                    target[i] = bits[i];
                }
                return;
            }
            var indices = _indices.AsSpan(0, target.Length);
            _valueDecoder.Read(indices);
            var dictionary = _numberDictionary ?? throw new InvalidDataException("a dictionary-encoded page comes before any dictionary page");
            for (var i = 0; i < target.Length; i++)
            {
                var index = indices[i];
                if ((uint)index >= (uint)dictionary.Length)
                {
                    throw new InvalidDataException($"dictionary index {index} past the dictionary's {dictionary.Length} values");
                }
                target[i] = dictionary[index];
            }
            return;
        }
        _offset = DecodePlainNumbers(_type, _page.AsSpan(0, _pageLength), _offset, ref _bit, target);
    }

    // PLAIN numbers from bytes[offset..] (booleans: bit-packed from bit), widened to double; returns the new offset.
    private static int DecodePlainNumbers(int type, ReadOnlySpan<byte> bytes, int offset, ref long bit, Span<double> target)
    {
        switch (type)
        {
            case Boolean:
                for (var i = 0; i < target.Length; i++, bit++)
                {
                    var index = (int)(bit >> 3);
                    if (index >= bytes.Length)
                    {
                        throw new InvalidDataException("the booleans end before the page's values do");
                    }
                    target[i] = (bytes[index] >> (int)(bit & 7)) & 1;
                }
                return offset;
            case Int32:
                {
                    var values = MemoryMarshal.Cast<byte, int>(Take(bytes, offset, target.Length * 4));
                    for (var i = 0; i < target.Length; i++)
                    {
                        target[i] = values[i];
                    }
                    return offset + target.Length * 4;
                }
            case Int64:
                {
                    var values = MemoryMarshal.Cast<byte, long>(Take(bytes, offset, target.Length * 8));
                    for (var i = 0; i < target.Length; i++)
                    {
                        target[i] = values[i];
                    }
                    return offset + target.Length * 8;
                }
            case Float:
                {
                    var values = MemoryMarshal.Cast<byte, float>(Take(bytes, offset, target.Length * 4));
                    for (var i = 0; i < target.Length; i++)
                    {
                        target[i] = values[i];
                    }
                    return offset + target.Length * 4;
                }
            default:
                MemoryMarshal.Cast<byte, double>(Take(bytes, offset, target.Length * 8)).CopyTo(target);
                return offset + target.Length * 8;
        }
    }

    private static ReadOnlySpan<byte> Take(ReadOnlySpan<byte> bytes, int offset, int length) =>
        length <= bytes.Length - offset ? bytes.Slice(offset, length) : throw new InvalidDataException("the values end before the page's value count does");

    private void FillTexts(RecordBatch batch, int column, int row, int n, int defined, ReadOnlySpan<bool> present)
    {
        if (_valueEncoding != ParquetPageHeader.Plain)
        {
            var dictionary = _textDictionary ?? throw new InvalidDataException("a dictionary-encoded page comes before any dictionary page");
            var codes = _textCodes!;
            var indices = _indices.AsSpan(0, n);
            _valueDecoder.Read(indices[..defined]);
            var v = defined - 1;
            for (var i = n - 1; i >= 0; i--)
            {
                // Moved to their rows from the back, as for numbers.
                if (!present.IsEmpty && !present[i])
                {
                    indices[i] = -1;
                    continue;
                }
                var index = indices[v--];
                if ((uint)index >= (uint)codes.Length)
                {
                    throw new InvalidDataException($"dictionary index {index} past the dictionary's {codes.Length} values");
                }
                indices[i] = codes[index];
            }
            batch.Cells.SetCodedTexts(column, row, indices, dictionary);
            return;
        }
        var page = _page.AsSpan(0, _pageLength);
        for (var i = 0; i < n; i++)
        {
            if (!present.IsEmpty && !present[i])
            {
                continue;
            }
            var text = NextPlainText(page);
            if (text.Length == 0)
            {
                continue;
            }
            batch.Cells.SetText(column, row + i, text);
        }
    }

    private ReadOnlySpan<byte> NextPlainText(ReadOnlySpan<byte> page)
    {
        if (page.Length - _offset < 4)
        {
            throw new InvalidDataException("the texts end before the page's value count does");
        }
        var length = BinaryPrimitives.ReadInt32LittleEndian(page[_offset..]);
        if (length < 0 || length > page.Length - _offset - 4)
        {
            throw new InvalidDataException($"a text of {length} bytes runs past the page's end");
        }
        var text = page.Slice(_offset + 4, length);
        _offset += 4 + length;
        return text;
    }

    private void NextDataPage()
    {
        while (true)
        {
            if (_position >= _end)
            {
                throw Corrupt(_position, $"the column chunk ends after {_rowsRead} of the row group's {_rows} rows");
            }
            var at = _position;
            var (header, headerLength) = ReadHeader(at);
            var body = at + headerLength;
            if (header.CompressedSize > _end - body)
            {
                throw Corrupt(at, $"the {ParquetPageHeader.Describe(header.Type)} claims {header.CompressedSize} bytes, past the column chunk's end");
            }
            _position = body + header.CompressedSize;
            _pageOffset = at;
            switch (header.Type)
            {
                case ParquetPageHeader.DictionaryPage:
                    try
                    {
                        LoadPage(header, body);
                        LoadDictionary(header);
                    }
                    catch (InvalidDataException e)
                    {
                        throw Corrupt(at, e.Message);
                    }
                    break;
                case ParquetPageHeader.DataPage or ParquetPageHeader.DataPageV2:
                    if (header.Values == 0)
                    {
                        break;
                    }
                    try
                    {
                        LoadPage(header, body);
                        StartDataPage(header);
                    }
                    catch (InvalidDataException e)
                    {
                        throw Corrupt(at, e.Message);
                    }
                    return;
                default:
                    // Index pages and kinds added later carry no values.
                    break;
            }
        }
    }

    // The page's bytes, decompressed, into _page[0.._pageLength). A version 2 data page keeps its levels uncompressed
    // before its values.
    private void LoadPage(ParquetPageHeader header, long body)
    {
        if (header.UncompressedSize < 0 || header.CompressedSize < 0)
        {
            throw new InvalidDataException("a negative page size");
        }
        var levels = header.Type == ParquetPageHeader.DataPageV2 ? header.DefinitionLevelsLength + header.RepetitionLevelsLength : 0;
        if (levels > header.CompressedSize || levels > header.UncompressedSize)
        {
            throw new InvalidDataException($"levels of {levels} bytes in a page of {header.CompressedSize}");
        }
        Grow(ref _page, header.UncompressedSize);
        _pageLength = header.UncompressedSize;
        var compressed = _codec != ParquetCodecs.Uncompressed && (header.Type != ParquetPageHeader.DataPageV2 || header.IsCompressed);
        if (!compressed)
        {
            if (header.CompressedSize != header.UncompressedSize)
            {
                throw new InvalidDataException($"an uncompressed page of {header.CompressedSize} bytes whose header says {header.UncompressedSize}");
            }
            ReadExactly(body, _page.AsSpan(0, _pageLength));
            return;
        }
        ReadExactly(body, _page.AsSpan(0, levels));
        var source = ColumnPool<byte>.Shared.Rent(Math.Max(1, header.CompressedSize - levels));
        try
        {
            var length = header.CompressedSize - levels;
            ReadExactly(body + levels, source.AsSpan(0, length));
            ParquetCodecs.Decompress(_codec, source, length, _page.AsMemory(levels, _pageLength - levels));
        }
        finally
        {
            ColumnPool<byte>.Shared.Return(source);
        }
    }

    private void LoadDictionary(ParquetPageHeader header)
    {
        if (header.Encoding is not (ParquetPageHeader.Plain or ParquetPageHeader.PlainDictionary))
        {
            throw new InvalidDataException($"a dictionary page encoded {ParquetPageHeader.DescribeEncoding(header.Encoding)} (expected PLAIN or PLAIN_DICTIONARY)");
        }
        var page = _page.AsSpan(0, _pageLength);
        if (_type == ByteArray)
        {
            var texts = new ReadOnlyMemory<char>[header.Values];
            var codes = new int[header.Values];
            long bytes = 20L * texts.Length;
            _offset = 0;
            for (var i = 0; i < texts.Length; i++)
            {
                var text = NextPlainText(page);
                var decoded = Encoding.UTF8.GetString(text);
                texts[i] = decoded.AsMemory();
                codes[i] = decoded.Length == 0 ? -1 : i;
                bytes += 2L * decoded.Length + 32;
            }
            _textDictionary = texts;
            _textCodes = codes;
            _dictionaryBytes = bytes;
            return;
        }
        var numbers = new double[header.Values];
        long bit = 0;
        DecodePlainNumbers(_type, page, 0, ref bit, numbers);
        _numberDictionary = numbers;
        _dictionaryBytes = 8L * numbers.Length;
    }

    private void StartDataPage(ParquetPageHeader header)
    {
        var start = 0;
        if (header.Type == ParquetPageHeader.DataPageV2)
        {
            if (header.RepetitionLevelsLength != 0)
            {
                throw new InvalidDataException("repetition levels in a flat column");
            }
            if (_maxDefinition > 0)
            {
                _levelDecoder.Reset(_page, 0, header.DefinitionLevelsLength, 1);
            }
            start = header.DefinitionLevelsLength;
        }
        else if (_maxDefinition > 0)
        {
            if (header.DefinitionLevelEncoding != ParquetPageHeader.Rle)
            {
                throw new InvalidDataException($"definition levels encoded {ParquetPageHeader.DescribeEncoding(header.DefinitionLevelEncoding)} (expected RLE)");
            }
            start = LengthPrefixed(0, out var end);
            _levelDecoder.Reset(_page, start, end, 1);
            start = end;
        }
        _valueEncoding = header.Encoding;
        _valuesLeft = header.Values;
        switch (header.Encoding)
        {
            case ParquetPageHeader.Plain:
                _offset = start;
                _bit = (long)start * 8;
                break;
            case ParquetPageHeader.PlainDictionary or ParquetPageHeader.RleDictionary:
                if (start >= _pageLength)
                {
                    throw new InvalidDataException("a dictionary-encoded page without its bit width");
                }
                _valueDecoder.Reset(_page, start + 1, _pageLength, _page[start]);
                break;
            case ParquetPageHeader.Rle when _type == Boolean:
                {
                    var from = LengthPrefixed(start, out var end);
                    _valueDecoder.Reset(_page, from, end, 1);
                    break;
                }
            default:
                throw new InvalidDataException($"values encoded {ParquetPageHeader.DescribeEncoding(header.Encoding)}, which batch scoring does not read (it reads PLAIN and dictionary-encoded pages)");
        }
    }

    // A run of RLE / bit-packed bytes after its 4-byte length at start: returns where it begins, and where it ends.
    private int LengthPrefixed(int start, out int end)
    {
        if (_pageLength - start < 4)
        {
            throw new InvalidDataException("the page ends inside a length");
        }
        var length = BinaryPrimitives.ReadInt32LittleEndian(_page.AsSpan(start));
        if (length < 0 || length > _pageLength - start - 4)
        {
            throw new InvalidDataException($"encoded levels of {length} bytes run past the page's end");
        }
        end = start + 4 + length;
        return start + 4;
    }

    private (ParquetPageHeader Header, int Length) ReadHeader(long position)
    {
        var left = _end - position;
        var want = (int)Math.Min(left, 256);
        while (true)
        {
            Grow(ref _header, want);
            ReadExactly(position, _header.AsSpan(0, want));
            try
            {
                if (ParquetPageHeader.TryRead(_header.AsSpan(0, want), out var header, out var length))
                {
                    return (header, length);
                }
            }
            catch (InvalidDataException e)
            {
                throw Corrupt(position, $"the page header is corrupt: {e.Message}");
            }
            catch (OverflowException)
            {
                throw Corrupt(position, "the page header is corrupt: a size past what a page can hold");
            }
            if (want == left)
            {
                throw Corrupt(position, "the page header is cut short by the column chunk's end (is the file cut short?)");
            }
            if (want >= MaxHeaderBytes)
            {
                throw Corrupt(position, $"the page header runs past {MaxHeaderBytes >> 20} MB");
            }
            want = (int)Math.Min(left, (long)want * 4);
        }
    }

    private void ReadExactly(long position, Span<byte> target)
    {
        var done = 0;
        while (done < target.Length)
        {
            var read = RandomAccess.Read(_file, target[done..], position + done);
            if (read == 0)
            {
                throw Corrupt(position, $"the file ends {target.Length - done} bytes before the page does (is it cut short?)");
            }
            done += read;
        }
    }

    private ScoreException Corrupt(long position, string reason) => new($"{_where}: the page at byte {position} cannot be read: {reason}");

    private static void Grow<T>(ref T[] array, int length)
    {
        if (array.Length >= length)
        {
            return;
        }
        if (array.Length > 0)
        {
            ColumnPool<T>.Shared.Return(array);
        }
        array = ColumnPool<T>.Shared.Rent(Math.Max(1, length));
    }

    public void Dispose()
    {
        Release(ref _header);
        Release(ref _page);
        Release(ref _levels);
        Release(ref _indices);
        Release(ref _numbers);
        Release(ref _present);
        _numberDictionary = null;
        _textDictionary = null;
        _dictionaryBytes = 0;
        _textCodes = null;
    }

    private static void Release<T>(ref T[] array)
    {
        if (array.Length > 0)
        {
            ColumnPool<T>.Shared.Return(array);
            array = [];
        }
    }
}
