using System.Diagnostics.Tracing;

namespace InferenceServer.UnitTests.Tensors;

/// <summary>
/// Counts buffers rented from any <see cref="System.Buffers.ArrayPool{T}"/> or from the aligned pool
/// behind tensors and not returned, on the calling thread only, by listening to the runtime's own
/// ArrayPool event source and the tensor pool's (same event shape). Other tests that rent on other
/// threads at the same time do not disturb the count. <see cref="OutstandingAsync"/> is for code that hands its buffers
/// to other threads to return (a queue and its workers): it counts what the awaited flow rents, and returns from anywhere.
/// </summary>
internal sealed class PooledBufferProbe : EventListener
{
    // Initialized before Instance (fields initialize in order): events can arrive while it is being constructed.
    private static readonly AsyncLocal<HashSet<int>?> FlowRents = new();
    private static readonly Lock AnywhereLock = new();
    private static readonly List<HashSet<int>> AnywhereReturns = [];

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

    /// <summary>
    /// Runs <paramref name="action"/> and returns how many pool buffers were rented on its asynchronous flow (not on
    /// threads whose context it suppressed, such as workers it started) and not returned by the end, on any thread.
    /// </summary>
    public static async Task<int> OutstandingAsync(Func<Task> action)
    {
        GC.KeepAlive(Instance);
        var outstanding = new HashSet<int>();
        lock (AnywhereLock)
        {
            AnywhereReturns.Add(outstanding);
        }
        FlowRents.Value = outstanding;
        try
        {
            await action();
        }
        finally
        {
            FlowRents.Value = null;
            lock (AnywhereLock)
            {
                AnywhereReturns.Remove(outstanding);
            }
        }
        lock (AnywhereLock)
        {
            return outstanding.Count;
        }
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
        if (eventData.Payload is not { Count: > 0 } payload || payload[0] is not int bufferId)
        {
            return;
        }
        var outstanding = _outstanding;
        if (outstanding is not null)
        {
            if (eventData.EventName == "BufferRented")
            {
                outstanding.Add(bufferId);
            }
            else if (eventData.EventName == "BufferReturned")
            {
                outstanding.Remove(bufferId);
            }
        }
        CountAcrossThreads(eventData.EventName, bufferId);
    }

    private static void CountAcrossThreads(string? eventName, int bufferId)
    {
        if (eventName == "BufferRented" && FlowRents.Value is { } rents)
        {
            lock (AnywhereLock)
            {
                rents.Add(bufferId);
            }
        }
        else if (eventName == "BufferReturned")
        {
            lock (AnywhereLock)
            {
                foreach (var returns in AnywhereReturns)
                {
                    returns.Remove(bufferId);
                }
            }
        }
    }
}
