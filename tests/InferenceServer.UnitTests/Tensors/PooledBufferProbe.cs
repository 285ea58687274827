using System.Diagnostics.Tracing;

namespace InferenceServer.UnitTests.Tensors;

/// <summary>
/// Counts buffers rented from any <see cref="System.Buffers.ArrayPool{T}"/> or from the aligned pool
/// behind tensors and not returned, on the calling thread only, by listening to the runtime's own
/// ArrayPool event source and the tensor pool's (same event shape). Other tests that rent on other
/// threads at the same time do not disturb the count.
/// </summary>
internal sealed class PooledBufferProbe : EventListener
{
    private static readonly PooledBufferProbe Instance = new();

    [ThreadStatic]
    private static HashSet<int>? _outstanding;

    /// <summary>Runs <paramref name="action"/> (synchronously, on this thread) and returns how many pool buffers it rented and did not return.</summary>
    public static int Outstanding(Action action)
    {
        GC.KeepAlive(Instance);
        var outstanding = new HashSet<int>();
        _outstanding = outstanding;
        try
        {
            action();
        }
        finally
        {
            _outstanding = null;
        }
        return outstanding.Count;
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        // Runs from the base constructor too, before this class's fields exist: touch none of them.
        if (eventSource.Name is "System.Buffers.ArrayPoolEventSource" or "InferenceServer.TensorBuffers")
        {
            EnableEvents(eventSource, EventLevel.Verbose);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        var outstanding = _outstanding;
        if (outstanding is null || eventData.Payload is not { Count: > 0 } payload || payload[0] is not int bufferId)
        {
            return;
        }
        if (eventData.EventName == "BufferRented")
        {
            outstanding.Add(bufferId);
        }
        else if (eventData.EventName == "BufferReturned")
        {
            outstanding.Remove(bufferId);
        }
    }
}
