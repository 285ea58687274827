namespace InferenceServer.Core.Scoring;

/// <summary>
/// What a Parquet page header says, as the format specification defines it (Thrift struct <c>PageHeader</c> and its
/// <c>DataPageHeader</c>, <c>DataPageHeaderV2</c> and <c>DictionaryPageHeader</c>): the page's kind, its sizes, its
/// value count and encodings. Fields this reader does not use (statistics, CRC) are skipped.
/// </summary>
internal readonly record struct ParquetPageHeader(
    int Type,
    int UncompressedSize,
    int CompressedSize,
    int Values,
    int Encoding,
    int DefinitionLevelEncoding,
    int DefinitionLevelsLength,
    int RepetitionLevelsLength,
    bool IsCompressed)
{
    public const int DataPage = 0;
    public const int IndexPage = 1;
    public const int DictionaryPage = 2;
    public const int DataPageV2 = 3;

    public const int Plain = 0;
    public const int PlainDictionary = 2;
    public const int Rle = 3;
    public const int BitPacked = 4;
    public const int RleDictionary = 8;

    /// <summary>
    /// Reads a header from the start of <paramref name="bytes"/>; false when they end before it does (read more and
    /// try again). <paramref name="length"/> is the header's own length, after which the page's bytes follow.
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes are not a page header.</exception>
    public static bool TryRead(ReadOnlySpan<byte> bytes, out ParquetPageHeader header, out int length)
    {
        var reader = new ThriftCompactReader(bytes);
        try
        {
            header = Read(ref reader);
            length = reader.Position;
            return true;
        }
        catch (EndOfStreamException)
        {
            header = default;
            length = 0;
            return false;
        }
    }

    private static ParquetPageHeader Read(ref ThriftCompactReader reader)
    {
        int type = -1, uncompressed = -1, compressed = -1;
        var page = new ParquetPageHeader(-1, 0, 0, -1, -1, Rle, 0, 0, true);
        short id = 0;
        while (true)
        {
            var (fieldType, next) = reader.ReadFieldHeader(id);
            if (fieldType == ThriftCompactReader.Stop)
            {
                break;
            }
            id = next;
            switch (id)
            {
                case 1 when fieldType == ThriftCompactReader.I32:
                    type = reader.ReadI32();
                    break;
                case 2 when fieldType == ThriftCompactReader.I32:
                    uncompressed = reader.ReadI32();
                    break;
                case 3 when fieldType == ThriftCompactReader.I32:
                    compressed = reader.ReadI32();
                    break;
                case 5 when fieldType == ThriftCompactReader.Struct:
                    page = ReadDataPage(ref reader, page);
                    break;
                case 7 when fieldType == ThriftCompactReader.Struct:
                    page = ReadDictionaryPage(ref reader, page);
                    break;
                case 8 when fieldType == ThriftCompactReader.Struct:
                    page = ReadDataPageV2(ref reader, page);
                    break;
                default:
                    reader.Skip(fieldType);
                    break;
            }
        }
        if (type < 0 || uncompressed < 0 || compressed < 0)
        {
            throw new InvalidDataException("the page header lacks its type or its sizes, or gives a negative size");
        }
        if (type is DataPage or DictionaryPage or DataPageV2 && page.Values < 0)
        {
            throw new InvalidDataException($"the {Describe(type)} header lacks its value count");
        }
        return page with { Type = type, UncompressedSize = uncompressed, CompressedSize = compressed };
    }

    // One field of a nested header: the page with the field read into it, or null for a field this reader does not use
    // (it is then skipped).
    private delegate ParquetPageHeader? FieldReader(ref ThriftCompactReader reader, ParquetPageHeader page, short id, byte type);

    // The three nested headers differ only in which field id holds what: one loop walks them, each table says which.
    private static ParquetPageHeader ReadNested(ref ThriftCompactReader reader, ParquetPageHeader page, FieldReader field)
    {
        reader.EnterStruct();
        short id = 0;
        while (true)
        {
            var (fieldType, next) = reader.ReadFieldHeader(id);
            if (fieldType == ThriftCompactReader.Stop)
            {
                break;
            }
            id = next;
            if (field(ref reader, page, id, fieldType) is { } read)
            {
                page = read;
            }
            else
            {
                reader.Skip(fieldType);
            }
        }
        reader.LeaveStruct();
        return page;
    }

    private static ParquetPageHeader ReadDataPage(ref ThriftCompactReader reader, ParquetPageHeader page) =>
        ReadNested(ref reader, page, static (ref ThriftCompactReader r, ParquetPageHeader p, short id, byte type) => (id, type) switch
        {
            (1, ThriftCompactReader.I32) => p with { Values = r.ReadI32() },
            (2, ThriftCompactReader.I32) => p with { Encoding = r.ReadI32() },
            (3, ThriftCompactReader.I32) => p with { DefinitionLevelEncoding = r.ReadI32() },
            _ => null,
        });

    private static ParquetPageHeader ReadDictionaryPage(ref ThriftCompactReader reader, ParquetPageHeader page) =>
        ReadNested(ref reader, page, static (ref ThriftCompactReader r, ParquetPageHeader p, short id, byte type) => (id, type) switch
        {
            (1, ThriftCompactReader.I32) => p with { Values = r.ReadI32() },
            (2, ThriftCompactReader.I32) => p with { Encoding = r.ReadI32() },
            _ => null,
        });

    private static ParquetPageHeader ReadDataPageV2(ref ThriftCompactReader reader, ParquetPageHeader page)
    {
        page = ReadNested(ref reader, page, static (ref ThriftCompactReader r, ParquetPageHeader p, short id, byte type) => (id, type) switch
        {
            (1, ThriftCompactReader.I32) => p with { Values = r.ReadI32() },
            (4, ThriftCompactReader.I32) => p with { Encoding = r.ReadI32() },
            (5, ThriftCompactReader.I32) => p with { DefinitionLevelsLength = r.ReadI32() },
            (6, ThriftCompactReader.I32) => p with { RepetitionLevelsLength = r.ReadI32() },
            (7, ThriftCompactReader.BooleanTrue or ThriftCompactReader.BooleanFalse) => p with { IsCompressed = type == ThriftCompactReader.BooleanTrue },
            _ => null,
        });
        if (page.DefinitionLevelsLength < 0 || page.RepetitionLevelsLength < 0)
        {
            throw new InvalidDataException("the data page (version 2) header gives a negative level length");
        }
        return page;
    }

    /// <summary>The page kind's name in the specification, for messages.</summary>
    public static string Describe(int type) => type switch
    {
        DataPage => "data page",
        IndexPage => "index page",
        DictionaryPage => "dictionary page",
        DataPageV2 => "data page (version 2)",
        _ => $"page of unknown type {type}",
    };

    /// <summary>The encoding's name in the specification, for messages.</summary>
    public static string DescribeEncoding(int encoding) => encoding switch
    {
        Plain => "PLAIN",
        PlainDictionary => "PLAIN_DICTIONARY",
        Rle => "RLE",
        BitPacked => "BIT_PACKED",
        5 => "DELTA_BINARY_PACKED",
        6 => "DELTA_LENGTH_BYTE_ARRAY",
        7 => "DELTA_BYTE_ARRAY",
        RleDictionary => "RLE_DICTIONARY",
        9 => "BYTE_STREAM_SPLIT",
        _ => $"encoding {encoding}",
    };
}
