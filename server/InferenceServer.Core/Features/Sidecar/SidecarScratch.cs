using System.Buffers;

namespace InferenceServer.Core.Features.Sidecar;

/// <summary>
/// A per-thread buffer a body is encoded into before it is framed: the length prefix comes first, and a generic
/// <see cref="IBufferWriter{T}"/> cannot be written back into once advanced. Encoding is synchronous, so a thread's
/// buffer is free again when the frame is written; the in-use flag covers a frame begun while another is open.
/// </summary>
internal static class SidecarScratch
{
    // A buffer grown for one huge frame is not kept: it would hold that memory on the thread for good.
    private const int KeepCapacityBytes = 1024 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? _threadBuffer;

    [ThreadStatic]
    private static bool _threadInUse;

    /// <summary>An empty buffer; give it back with <see cref="Return"/> once its body is framed.</summary>
    public static ArrayBufferWriter<byte> Rent()
    {
        if (_threadInUse)
        {
            return new ArrayBufferWriter<byte>();
        }
        _threadInUse = true;
        var buffer = _threadBuffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        return buffer;
    }

    /// <summary>Frames what <paramref name="buffer"/> holds onto <paramref name="output"/> and gives the buffer back.</summary>
    public static void FrameAndReturn(ArrayBufferWriter<byte> buffer, IBufferWriter<byte> output)
    {
        try
        {
            SidecarFrames.WriteFrame(output, buffer.WrittenSpan);
        }
        finally
        {
            Return(buffer);
        }
    }

    /// <summary>Gives back a buffer from <see cref="Rent"/>.</summary>
    public static void Return(ArrayBufferWriter<byte> buffer)
    {
        if (!ReferenceEquals(buffer, _threadBuffer))
        {
            return;
        }
        _threadInUse = false;
        if (buffer.Capacity > KeepCapacityBytes)
        {
            _threadBuffer = null;
        }
    }
}
