using System.Buffers;
using System.Buffers.Binary;

namespace InferenceServer.Core.Features.Sidecar;

/// <summary>
/// The framing of the feature sidecar's socket: each frame is a 4-byte big-endian body length, then the body (one
/// MessagePack array, see <see cref="SidecarMessages"/>). A length over <see cref="MaxBodyBytes"/> is a protocol error,
/// so a corrupt or hostile peer cannot make the reader buffer without bound.
/// </summary>
public static class SidecarFrames
{
    /// <summary>The bytes of a frame's length prefix.</summary>
    public const int HeaderBytes = 4;

    /// <summary>The largest body a frame may carry (16 MiB).</summary>
    public const int MaxBodyBytes = 16 * 1024 * 1024;

    /// <summary>
    /// Takes the first whole frame off <paramref name="buffer"/>: true with its body (a slice of the buffer, valid until
    /// the buffer is released), and <paramref name="buffer"/> moved past it; false when the frame is not complete yet
    /// (<paramref name="buffer"/> untouched). Throws <see cref="SidecarProtocolException"/> when the length is over
    /// <see cref="MaxBodyBytes"/>.
    /// </summary>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> body)
    {
        body = default;
        if (buffer.Length < HeaderBytes)
        {
            return false;
        }
        uint length;
        if (buffer.FirstSpan.Length >= HeaderBytes)
        {
            length = BinaryPrimitives.ReadUInt32BigEndian(buffer.FirstSpan);
        }
        else
        {
            Span<byte> header = stackalloc byte[HeaderBytes];
            buffer.Slice(0, HeaderBytes).CopyTo(header);
            length = BinaryPrimitives.ReadUInt32BigEndian(header);
        }
        if (length > MaxBodyBytes)
        {
            throw new SidecarProtocolException($"a frame announces a body of {length} bytes; at most {MaxBodyBytes} bytes are allowed");
        }
        if (buffer.Length - HeaderBytes < length)
        {
            return false;
        }
        body = buffer.Slice(HeaderBytes, length);
        buffer = buffer.Slice(body.End);
        return true;
    }

    /// <summary>Writes one frame, the length of <paramref name="body"/> and then the body, to <paramref name="output"/>.</summary>
    public static void WriteFrame(IBufferWriter<byte> output, ReadOnlySpan<byte> body)
    {
        if (body.Length > MaxBodyBytes)
        {
            throw new SidecarProtocolException($"a body of {body.Length} bytes does not fit in a frame; at most {MaxBodyBytes} bytes are allowed");
        }
        BinaryPrimitives.WriteUInt32BigEndian(output.GetSpan(HeaderBytes), (uint)body.Length);
        output.Advance(HeaderBytes);
        output.Write(body);
    }
}
