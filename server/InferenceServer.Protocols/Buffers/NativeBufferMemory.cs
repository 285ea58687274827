using System.Buffers;

namespace InferenceServer.Protocols.Buffers;

/// <summary>The written bytes of a <see cref="NativeBuffer"/> as <see cref="Memory{T}"/>, for APIs that take memory or sequences; the buffer stays its owner's to free.</summary>
internal sealed class NativeBufferMemory(NativeBuffer buffer) : MemoryManager<byte>
{
    public override Span<byte> GetSpan() => buffer.Written;

    public override MemoryHandle Pin(int elementIndex = 0) => buffer.Pin(elementIndex);

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }
}
