using System.Buffers;
using System.Buffers.Binary;

namespace InferenceServer.Grpc;

/// <summary>The 5-byte prefix of a gRPC Length-Prefixed-Message: a compressed flag, then the length as a big-endian unsigned 32-bit integer.</summary>
internal static class GrpcFrame
{
    public const int HeaderSize = 5;

    /// <summary>
    /// Finds the first whole message in <paramref name="buffer"/>. False when more bytes are needed. A declared length
    /// over <paramref name="maxSize"/> is refused as soon as the prefix is seen, before any of the message is buffered.
    /// </summary>
    public static bool TryRead(in ReadOnlySequence<byte> buffer, int maxSize, out byte flag, out ReadOnlySequence<byte> message)
    {
        message = default;
        flag = 0;
        if (buffer.Length < HeaderSize)
        {
            return false;
        }
        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(header);
        flag = header[0];
        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (length > (uint)maxSize)
        {
            throw new GrpcStatusException(GrpcStatusCode.ResourceExhausted, $"Received message of {length} bytes exceeds the limit of {maxSize} bytes.");
        }
        if (buffer.Length - HeaderSize < length)
        {
            return false;
        }
        message = buffer.Slice(HeaderSize, length);
        return true;
    }

    /// <summary>Writes the prefix of a message of <paramref name="length"/> bytes.</summary>
    public static void WriteHeader(Span<byte> destination, bool compressed, int length)
    {
        destination[0] = compressed ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(destination[1..], (uint)length);
    }
}
