namespace InferenceServer.Core.Scheduling;

/// <summary>
/// The server's queue policy for whatever a model's config leaves unset: how much work may wait and for how long.
/// Triton leaves both unbounded, which under overload turns every request into a late one; a server-wide default
/// bound sheds the excess at once instead, and a model's own <c>ModelQueuePolicy</c> values still win.
/// </summary>
/// <param name="MaxQueueBatches">
/// A priority level whose policy sets no max_queue_size holds at most this many batches per instance, or
/// <see cref="MinQueuedWork"/> of them if that is more (0: unbounded). A batch is max_batch_size requests with
/// dynamic batching, one request without.
/// </param>
/// <param name="MaxQueueWaitMicroseconds">The queue timeout of a level whose policy sets no default_timeout_microseconds (0: none).</param>
public sealed record QueueDefaults(int MaxQueueBatches, long MaxQueueWaitMicroseconds)
{
    /// <summary>
    /// The work a queue may always hold, whatever <see cref="MaxQueueBatches"/> says: bursts of a fast model (a few µs
    /// a run, where latency is the network's) queue rather than being refused, while a slow model still queues only its
    /// few batches. A millisecond is below what any client over a network can tell apart.
    /// </summary>
    public static readonly TimeSpan MinQueuedWork = TimeSpan.FromMilliseconds(1);

    /// <summary>Triton's own defaults: queues without bound or timeout.</summary>
    public static QueueDefaults Unbounded { get; } = new(0, 0);

    /// <summary>
    /// The bound of a level without its own max_queue_size (0: none): for <paramref name="instances"/> instances that
    /// run batches of up to <paramref name="batchCapacity"/> requests, taking <paramref name="averageRun"/> each
    /// (<see cref="TimeSpan.Zero"/> before the first has run: unbounded until the model's speed is known).
    /// </summary>
    public int MaxQueueSize(int instances, int batchCapacity, TimeSpan averageRun)
    {
        if (MaxQueueBatches == 0 || averageRun <= TimeSpan.Zero)
        {
            return 0;
        }
        var batches = Math.Max(MaxQueueBatches, Math.Ceiling(MinQueuedWork / averageRun));
        var size = batches * instances * batchCapacity;
        return size >= int.MaxValue ? int.MaxValue : (int)size;
    }
}
