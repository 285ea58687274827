namespace InferenceServer.Core.Scheduling;

/// <summary>
/// The server's queue policy for whatever a model's config leaves unset: how much work may wait and for how long.
/// Triton leaves both unbounded, which under overload turns every request into a late one. A fixed small bound would
/// instead refuse the bursts a fast model absorbs in microseconds, so the default bound applies only while a queue is
/// overloaded, told apart from a burst the way CoDel tells them apart: a burst drains, an overload keeps the oldest
/// request waiting. A model's own <c>ModelQueuePolicy</c> values always win.
/// </summary>
/// <param name="MaxQueueBatches">
/// While a priority level whose policy sets no max_queue_size sheds load, it holds at most this many batches per
/// instance (max_batch_size requests with dynamic batching, one without) and refuses the rest at once; 0: never sheds.
/// </param>
/// <param name="MaxQueueWaitMicroseconds">The queue timeout of a level whose policy sets no default_timeout_microseconds (0: none).</param>
public sealed record QueueDefaults(int MaxQueueBatches, long MaxQueueWaitMicroseconds)
{
    /// <summary>
    /// A level starts shedding once its oldest request has waited this long: the queue is not draining. A burst that
    /// takes less to drain is queued whole.
    /// </summary>
    public static readonly TimeSpan ShedAfter = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// A level sheds until this long passes without a refusal: demand then fits in what it lets wait. Longer than the
    /// stalls of a busy machine (measured: hundreds of ms), during which nothing arrives to be refused; ending the
    /// shedding then would let the requests that piled up during the stall into the queue whole.
    /// </summary>
    public static readonly TimeSpan ShedFor = TimeSpan.FromSeconds(1);

    /// <summary>Triton's own defaults: queues without bound or timeout.</summary>
    public static QueueDefaults Unbounded { get; } = new(0, 0);

    /// <summary>The bound while shedding for <paramref name="instances"/> instances of <paramref name="batchCapacity"/> requests a batch (0: none).</summary>
    public int MaxQueueSize(int instances, int batchCapacity)
    {
        var size = (long)MaxQueueBatches * instances * batchCapacity;
        return size >= int.MaxValue ? int.MaxValue : (int)size;
    }
}
