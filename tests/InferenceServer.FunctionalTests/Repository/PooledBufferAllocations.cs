using System.Diagnostics.Tracing;

namespace InferenceServer.FunctionalTests.Repository;

/// <summary>
/// Counts the bytes <see cref="System.Buffers.ArrayPool{T}.Shared"/> allocates for new buffers (its event source's
/// BufferAllocated events), so that a measurement of what a request allocates can leave out whether a pooled buffer
/// happened to be found on the thread that asked for it.
/// </summary>
internal sealed class PooledBufferAllocations : EventListener
{
    private const int BufferAllocatedEventId = 2;
    private long _bytes;

    /// <summary>The bytes of new pooled buffers so far.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "System.Buffers.ArrayPoolEventSource")
        {
            EnableEvents(eventSource, EventLevel.Verbose);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventId == BufferAllocatedEventId && eventData.PayloadNames is { } names)
        {
            var size = names.IndexOf("bufferSize");
            if (size >= 0 && eventData.Payload![size] is int bytes)
            {
                Interlocked.Add(ref _bytes, bytes);
            }
        }
    }
}
