using System.Diagnostics.Tracing;
using System.Runtime.CompilerServices;

namespace InferenceServer.Core.Tensors;

/// <summary>
/// Rent and return events for <see cref="AlignedBufferPool"/>, shaped like the runtime's
/// <c>System.Buffers.ArrayPoolEventSource</c> (buffer id first), so a listener that checks pooled
/// buffers for leaks sees tensors of every type. Costs one branch when nobody listens.
/// </summary>
[EventSource(Name = "InferenceServer.TensorBuffers")]
internal sealed class TensorBufferEventSource : EventSource
{
    public static readonly TensorBufferEventSource Log = new();

    private TensorBufferEventSource()
    {
    }

    [NonEvent]
    public void Rented(byte[] array)
    {
        if (IsEnabled())
        {
            BufferRented(RuntimeHelpers.GetHashCode(array), array.Length);
        }
    }

    [NonEvent]
    public void Returned(byte[] array)
    {
        if (IsEnabled())
        {
            BufferReturned(RuntimeHelpers.GetHashCode(array), array.Length);
        }
    }

    [Event(1, Level = EventLevel.Verbose)]
    private void BufferRented(int bufferId, int bufferSize) => WriteEvent(1, bufferId, bufferSize);

    [Event(2, Level = EventLevel.Verbose)]
    private void BufferReturned(int bufferId, int bufferSize) => WriteEvent(2, bufferId, bufferSize);
}
