namespace InferenceServer.Core.Scoring;

/// <summary>
/// Reads Apache Thrift's compact protocol from bytes in memory: what a Parquet page header is written in. Only what a
/// page header needs (field headers, zigzag varints, nested structs) and a skipper for every other field, so a writer's
/// optional fields (statistics, CRCs, fields added later) are stepped over. Runs out of bytes by throwing
/// <see cref="EndOfStreamException"/>, so a caller holding part of a header can read more and try again.
/// </summary>
internal ref struct ThriftCompactReader(ReadOnlySpan<byte> bytes)
{
    public const byte Stop = 0;
    public const byte BooleanTrue = 1;
    public const byte BooleanFalse = 2;
    public const byte Byte = 3;
    public const byte I16 = 4;
    public const byte I32 = 5;
    public const byte I64 = 6;
    public const byte Double = 7;
    public const byte Binary = 8;
    public const byte List = 9;
    public const byte Set = 10;
    public const byte Map = 11;
    public const byte Struct = 12;

    // Deeper than any Parquet header nests: a corrupt header must not recurse without end.
    private const int MaxDepth = 32;

    private readonly ReadOnlySpan<byte> _bytes = bytes;
    private int _depth;

    /// <summary>Bytes read so far.</summary>
    public int Position { get; private set; }

    /// <summary>
    /// Reads the next field header of the struct being read, given the previous field's id (0 at a struct's start):
    /// its type (<see cref="Stop"/> at the struct's end) and id.
    /// </summary>
    public (byte Type, short Id) ReadFieldHeader(short previousId)
    {
        var header = ReadByte();
        var type = (byte)(header & 0x0F);
        if (type == Stop)
        {
            return (Stop, 0);
        }
        var delta = header >> 4;
        var id = delta != 0 ? (short)(previousId + delta) : (short)ReadZigZag();
        return (type, id);
    }

    public int ReadI32() => checked((int)ReadZigZag());

    public long ReadI64() => ReadZigZag();

    /// <summary>Steps over a value of <paramref name="type"/>, whatever it holds.</summary>
    public void Skip(byte type)
    {
        switch (type)
        {
            case BooleanTrue or BooleanFalse:
                return;
            case Byte:
                ReadByte();
                return;
            case I16 or I32 or I64:
                ReadVarint();
                return;
            case Double:
                Advance(8);
                return;
            case Binary:
                Advance(checked((int)ReadVarint()));
                return;
            case List or Set:
                {
                    var header = ReadByte();
                    var size = (long)(header >> 4);
                    if (size == 15)
                    {
                        size = ReadVarint();
                    }
                    var element = (byte)(header & 0x0F);
                    for (long i = 0; i < size; i++)
                    {
                        // In a list, a boolean is a byte of its own.
                        if (element is BooleanTrue or BooleanFalse)
                        {
                            ReadByte();
                        }
                        else
                        {
                            Nested(element);
                        }
                    }
                    return;
                }
            case Map:
                {
                    var size = ReadVarint();
                    if (size == 0)
                    {
                        return;
                    }
                    var types = ReadByte();
                    for (long i = 0; i < size; i++)
                    {
                        Nested((byte)(types >> 4));
                        Nested((byte)(types & 0x0F));
                    }
                    return;
                }
            case Struct:
                SkipStruct();
                return;
            default:
                throw new InvalidDataException($"unknown Thrift field type {type}");
        }
    }

    /// <summary>Steps over the rest of a struct, up to and including its end.</summary>
    public void SkipStruct()
    {
        if (++_depth > MaxDepth)
        {
            throw new InvalidDataException($"structures nested deeper than {MaxDepth}");
        }
        short id = 0;
        while (true)
        {
            var (type, next) = ReadFieldHeader(id);
            if (type == Stop)
            {
                break;
            }
            Skip(type);
            id = next;
        }
        _depth--;
    }

    /// <summary>Enters a nested struct (for depth accounting); <see cref="LeaveStruct"/> when done.</summary>
    public void EnterStruct()
    {
        if (++_depth > MaxDepth)
        {
            throw new InvalidDataException($"structures nested deeper than {MaxDepth}");
        }
    }

    public void LeaveStruct() => _depth--;

    private void Nested(byte type)
    {
        if (++_depth > MaxDepth)
        {
            throw new InvalidDataException($"structures nested deeper than {MaxDepth}");
        }
        Skip(type);
        _depth--;
    }

    private byte ReadByte()
    {
        if (Position >= _bytes.Length)
        {
            throw new EndOfStreamException();
        }
        return _bytes[Position++];
    }

    private void Advance(int count)
    {
        if (count < 0)
        {
            throw new InvalidDataException($"a negative length ({count})");
        }
        if (count > _bytes.Length - Position)
        {
            throw new EndOfStreamException();
        }
        Position += count;
    }

    private long ReadZigZag()
    {
        var raw = (ulong)ReadVarint();
        return (long)(raw >> 1) ^ -(long)(raw & 1);
    }

    private long ReadVarint()
    {
        ulong result = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            var b = ReadByte();
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return (long)result;
            }
        }
        throw new InvalidDataException("a variable-length integer longer than 10 bytes");
    }
}
