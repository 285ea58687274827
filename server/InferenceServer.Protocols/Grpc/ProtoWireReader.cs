using System.Buffers;
using System.Text;
using InferenceServer.Core.Inference;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// Reads protobuf's wire format field by field from a message where it lies in the request's buffers, so a
/// decoder can take large <c>bytes</c> fields as slices (and copy them once, to where they belong) instead of
/// having the generated parser copy them into <c>ByteString</c>s first. Errors are INVALID_ARGUMENT naming
/// <c>messageName</c>.
/// </summary>
internal ref struct ProtoWireReader(ReadOnlySequence<byte> message, string messageName)
{
    public const int Varint = 0;
    public const int Fixed64 = 1;
    public const int LengthDelimited = 2;
    public const int Fixed32 = 5;

    private SequenceReader<byte> _reader = new(message);

    /// <summary>Whether the whole message has been read.</summary>
    public readonly bool End => _reader.End;

    /// <summary>Reads the next field's tag: its number and wire type.</summary>
    public (int Field, int WireType) ReadTag()
    {
        var tag = ReadVarint();
        var field = tag >> 3;
        if (field == 0 || field > 536_870_911)
        {
            throw Malformed($"field number {field} is not valid");
        }
        return ((int)field, (int)(tag & 7));
    }

    /// <summary>Reads a base-128 varint of up to 64 bits.</summary>
    public ulong ReadVarint()
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (!_reader.TryRead(out var b))
            {
                throw Malformed("it ends inside a varint");
            }
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
        throw Malformed("a varint is longer than 10 bytes");
    }

    /// <summary>Reads a length-delimited field's bytes, as a slice of the message.</summary>
    public ReadOnlySequence<byte> ReadLengthDelimited()
    {
        var length = ReadVarint();
        if (length > (ulong)_reader.Remaining)
        {
            throw Malformed($"a field declares {length} bytes but only {_reader.Remaining} remain");
        }
        var slice = _reader.UnreadSequence.Slice(0, (long)length);
        _reader.Advance((long)length);
        return slice;
    }

    /// <summary>Reads a <c>string</c> field.</summary>
    public string ReadString()
    {
        var bytes = ReadLengthDelimited();
        try
        {
            return bytes.IsSingleSegment ? StrictUtf8.GetString(bytes.FirstSpan) : StrictUtf8.GetString(bytes.ToArray());
        }
        catch (DecoderFallbackException)
        {
            throw Malformed("a string field is not valid UTF-8");
        }
    }

    /// <summary>Skips a field of a type the reader does not need.</summary>
    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case Varint:
                ReadVarint();
                break;
            case Fixed64:
                Advance(8);
                break;
            case LengthDelimited:
                ReadLengthDelimited();
                break;
            case Fixed32:
                Advance(4);
                break;
            default:
                throw Malformed($"wire type {wireType} is not supported");
        }
    }

    /// <summary>Throws unless <paramref name="wireType"/> is the one a field of this number must have.</summary>
    public readonly void Expect(int field, int wireType, int expected)
    {
        if (wireType != expected)
        {
            throw Malformed($"field {field} has wire type {wireType}, expected {expected}");
        }
    }

    private void Advance(int count)
    {
        if (_reader.Remaining < count)
        {
            throw Malformed("it ends inside a fixed-size field");
        }
        _reader.Advance(count);
    }

    private readonly InferenceException Malformed(string what) =>
        InferenceException.Invalid($"malformed {messageName}: {what}");

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
