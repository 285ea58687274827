using System.Buffers;
using System.Buffers.Binary;
using MessagePack;

namespace InferenceServer.Core.Features.Sidecar;

/// <summary>
/// Reads one body element by element, checking each element's MessagePack type before reading it, so that anything
/// malformed becomes a <see cref="SidecarProtocolException"/> naming the element and what was expected, never another
/// exception. Nothing is skipped generically (a deeply nested value could exhaust the stack), hence exact element
/// counts everywhere.
/// </summary>
internal ref struct SidecarBodyReader
{
    private readonly string _what;
    private MessagePackReader _reader;

    /// <summary>A reader over <paramref name="body"/>, a <paramref name="what"/> (e.g. "a lookup"), for messages.</summary>
    public SidecarBodyReader(ReadOnlySequence<byte> body, string what)
    {
        _reader = new MessagePackReader(body);
        _what = what;
    }

    /// <summary>Reads the body's outer array header and checks that it has <paramref name="count"/> elements.</summary>
    public void ReadEnvelope(int count, string shape)
    {
        var actual = ReadArrayHeader("the body");
        if (actual != count)
        {
            throw new SidecarProtocolException($"{_what} has {actual} elements; expected {count}: {shape}");
        }
    }

    /// <summary>Reads an array header, checking that its count can fit in the bytes left (each element takes one at least).</summary>
    public int ReadArrayHeader(string element)
    {
        Expect(element, MessagePackType.Array, "an array");
        // Decoded here rather than by the library, whose own check of a count against the bytes left would be
        // reported as a truncated body instead of the count that cannot be.
        var code = _reader.NextCode;
        var headerBytes = code == MessagePackCode.Array16 ? 3 : code == MessagePackCode.Array32 ? 5 : 1;
        var left = Remaining;
        if (left < headerBytes)
        {
            throw new SidecarProtocolException($"{_what} ends inside {element} (the body is truncated)");
        }
        Span<byte> header = stackalloc byte[5];
        _reader.ReadRaw(headerBytes).CopyTo(header);
        long count = headerBytes switch
        {
            3 => BinaryPrimitives.ReadUInt16BigEndian(header[1..]),
            5 => BinaryPrimitives.ReadUInt32BigEndian(header[1..]),
            _ => code & 0x0F,
        };
        left -= headerBytes;
        if (count > left)
        {
            throw new SidecarProtocolException($"{element} of {_what} announces {count} elements but only {left} bytes follow");
        }
        return (int)count;
    }

    private long Remaining => _reader.Sequence.Slice(_reader.Position).Length;

    /// <summary>Reads an unsigned 32-bit integer.</summary>
    public uint ReadUInt32(string element)
    {
        Expect(element, MessagePackType.Integer, "an unsigned 32-bit integer");
        return Decode(element, static (ref MessagePackReader r) => r.ReadUInt32(), "an unsigned 32-bit integer");
    }

    /// <summary>Reads an unsigned 8-bit integer.</summary>
    public byte ReadByte(string element)
    {
        Expect(element, MessagePackType.Integer, "an integer from 0 to 255");
        return Decode(element, static (ref MessagePackReader r) => r.ReadByte(), "an integer from 0 to 255");
    }

    /// <summary>Reads a signed 64-bit integer.</summary>
    public long ReadInt64(string element)
    {
        Expect(element, MessagePackType.Integer, "a signed 64-bit integer");
        return Decode(element, static (ref MessagePackReader r) => r.ReadInt64(), "a signed 64-bit integer");
    }

    /// <summary>Reads a string (not nil).</summary>
    public string ReadString(string element)
    {
        Expect(element, MessagePackType.String, "a string");
        return Decode(element, static (ref MessagePackReader r) => r.ReadString()!);
    }

    /// <summary>Reads a binary value: true with its bytes, or false for nil.</summary>
    public bool TryReadBinary(string element, out ReadOnlySequence<byte> bytes)
    {
        if (IsNil(element))
        {
            bytes = default;
            return false;
        }
        Expect(element, MessagePackType.Binary, "binary (the value's UTF-8 bytes) or nil");
        bytes = Decode(element, static (ref MessagePackReader r) => r.ReadBytes()!.Value);
        return true;
    }

    /// <summary>Checks that nothing follows the body's last element.</summary>
    public void ExpectEnd()
    {
        if (!_reader.End)
        {
            throw new SidecarProtocolException($"{_what} has {Remaining} bytes after its last element; expected none");
        }
    }

    private bool IsNil(string element)
    {
        ThrowIfEnded(element);
        if (_reader.NextCode != MessagePackCode.Nil)
        {
            return false;
        }
        _reader.ReadNil();
        return true;
    }

    private void Expect(string element, MessagePackType type, string expected)
    {
        ThrowIfEnded(element);
        var actual = _reader.NextMessagePackType;
        if (actual != type)
        {
            throw new SidecarProtocolException($"{element} of {_what} is {Describe(actual)}; expected {expected}");
        }
    }

    private void ThrowIfEnded(string element)
    {
        if (_reader.End)
        {
            throw new SidecarProtocolException($"{_what} ends before {element} (the body is truncated or has too few elements)");
        }
    }

    private delegate T Read<T>(ref MessagePackReader reader);

    private T Decode<T>(string element, Read<T> read, string? expected = null)
    {
        try
        {
            return read(ref _reader);
        }
        catch (EndOfStreamException e)
        {
            throw new SidecarProtocolException($"{_what} ends inside {element} (the body is truncated)", e);
        }
        catch (Exception e) when (e is OverflowException or MessagePackSerializationException)
        {
            throw new SidecarProtocolException($"{element} of {_what} cannot be read{(expected is null ? "" : $" as {expected}")}", e);
        }
    }

    private static string Describe(MessagePackType type) => type switch
    {
        MessagePackType.Integer => "an integer",
        MessagePackType.Nil => "nil",
        MessagePackType.Boolean => "a boolean",
        MessagePackType.Float => "a float",
        MessagePackType.String => "a string",
        MessagePackType.Binary => "binary",
        MessagePackType.Array => "an array",
        MessagePackType.Map => "a map",
        MessagePackType.Extension => "an extension value",
        _ => "a value of no MessagePack type",
    };
}
