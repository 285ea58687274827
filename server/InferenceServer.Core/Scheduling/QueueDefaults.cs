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
    /// Shedding ends when a window of at least this long and <see cref="ShedWindowRequests"/> arrivals shows that demand
    /// fits capacity again (<see cref="SpareShareDenominator"/>). Long enough to hold a fast model's thousands of arrivals
    /// and to outlast the backlog a stall of the machine (measured: hundreds of ms) lets in at once, which a window that
    /// began with the shedding counts as the overload it is; short enough that a stall at a load the model keeps up with
    /// refuses a fraction of a second of traffic, not seconds of it.
    /// </summary>
    public static readonly TimeSpan ShedWindow = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// The fewest arrivals a window judges by: a slow model's window lasts until this many came. With 64, a share of
    /// about a half (a model at 60% of its capacity) lies four standard deviations above the 1-in-4 threshold, and a
    /// share of 2% (three times its capacity) cannot reach it by chance.
    /// </summary>
    public const int ShedWindowRequests = 64;

    /// <summary>
    /// Shedding ends when at least 1 in <see cref="SpareShareDenominator"/> of a window's arrivals (refused ones included)
    /// ran on an instance that had nothing to do: the share of time an instance is idle, sampled by the arrivals. It is
    /// what tells "overloaded" from "busy but keeping up" at any request rate, where the refusals cannot: the bound of one
    /// batch per instance refuses part of a load the model keeps up with (one instance at 60% load: 13% of the arrivals
    /// with fixed run times, more when they vary), so at thousands of requests a second a rule that waits for a pause in
    /// the refusals never ends the shedding.
    /// With the bound in force, the share (simulated, Poisson arrivals, fixed run time) is 48% at 60% of capacity, 31% at
    /// 90%, 27% at 100%, 13% at 150% and 2% at 300% for one instance, and 74%, 35%, 24%, 2% and 0% for four: a quarter
    /// ends shedding once demand is back at about the capacity. An instance taking a batch with room to spare that empties
    /// the queue counts as idle too: a dynamic batcher that keeps up runs partial batches back to back and may never idle.
    /// </summary>
    public const int SpareShareDenominator = 4;

    /// <summary>
    /// Shedding also ends when nothing arrived for this long: there is no demand to judge, and a window that never fills
    /// would keep shedding a burst that comes after the quiet. Longer than the stalls of a busy machine, during which
    /// nothing arrives either; ending the shedding then would let the requests that piled up during the stall into the
    /// queue whole.
    /// </summary>
    public static readonly TimeSpan QuietFor = TimeSpan.FromSeconds(1);

    /// <summary>Triton's own defaults: queues without bound or timeout.</summary>
    public static QueueDefaults Unbounded { get; } = new(0, 0);

    /// <summary>The bound while shedding for <paramref name="instances"/> instances of <paramref name="batchCapacity"/> requests a batch (0: none).</summary>
    public int MaxQueueSize(int instances, int batchCapacity)
    {
        var size = (long)MaxQueueBatches * instances * batchCapacity;
        return size >= int.MaxValue ? int.MaxValue : (int)size;
    }
}
