using InferenceServer.Core.Repository;

namespace InferenceServer.Core.Scheduling;

/// <summary>
/// One priority level's queue and its <c>ModelQueuePolicy</c>, completed by the server's <see cref="QueueDefaults"/>
/// where the policy leaves a value at 0. Requests whose timeout expired under timeout_action DELAY move to
/// <see cref="Delayed"/>, which is served only after <see cref="Ready"/>.
/// </summary>
internal sealed class PriorityLevel
{
    private readonly long _defaultTimeoutMicroseconds;
    private readonly bool _allowTimeoutOverride;

    /// <param name="level">The 1-based level.</param>
    /// <param name="policy">The level's policy from the config; null when the config gives it none.</param>
    /// <param name="defaults">The server's defaults for what the policy leaves unset.</param>
    public PriorityLevel(int level, ModelQueuePolicy? policy, QueueDefaults defaults)
    {
        Level = level;
        Ready = new RequestList(2 * (level - 1));
        Delayed = new RequestList((2 * (level - 1)) + 1);
        ConfiguredMaxQueueSize = policy is null ? 0 : (int)Math.Min(policy.MaxQueueSize, int.MaxValue);
        TimeoutAction = policy?.TimeoutAction ?? ModelQueuePolicy.Types.TimeoutAction.Reject;
        var configuredTimeout = policy is null ? 0 : (long)Math.Min(policy.DefaultTimeoutMicroseconds, long.MaxValue);
        _defaultTimeoutMicroseconds = configuredTimeout > 0 ? configuredTimeout : defaults.MaxQueueWaitMicroseconds;
        // A policy the config gives decides as Triton does. Without one the server's default wait applies, and a request
        // may shorten it (its timeout parameter, its gRPC deadline): waiting past the point its client gives up is waste.
        // A server without a default wait keeps Triton's behaviour, which ignores the request's timeout then.
        _allowTimeoutOverride = policy?.AllowTimeoutOverride ?? defaults.MaxQueueWaitMicroseconds > 0;
    }

    /// <summary>The 1-based level (1 is the highest priority).</summary>
    public int Level { get; }

    public RequestList Ready { get; }

    public RequestList Delayed { get; }

    public int Count => Ready.Count + Delayed.Count;

    /// <summary>The level's own max_queue_size; 0 when its policy sets none and the server's default applies.</summary>
    public int ConfiguredMaxQueueSize { get; }

    /// <summary>
    /// The server's default bound (0: none), which the scheduler derives from its instances: it applies, to a level
    /// without its own max_queue_size, only while the level sheds load.
    /// </summary>
    public int SheddingQueueSize { get; set; }

    /// <summary>The message of the level's refusals as last built (see <see cref="RefusalMessage"/>); null before the first.</summary>
    public RefusalMessage? Refusal { get; set; }

    /// <summary>
    /// Whether the level sheds load: set once its queue stops draining (<see cref="IsFull"/>), cleared by the scheduler
    /// once demand fits the model's capacity again (<see cref="SpareCapacityMeter"/>).
    /// </summary>
    public bool Shedding { get; set; }

    /// <summary>
    /// Whether <see cref="IsFull"/> refuses whatever the clock says: the configured bound is reached, or the level sheds
    /// and its default bound is reached. A cheap look that changes nothing.
    /// </summary>
    public bool IsFullNow => ConfiguredMaxQueueSize > 0
        ? Count >= ConfiguredMaxQueueSize
        : Shedding && SheddingQueueSize > 0 && Count >= SheddingQueueSize;

    /// <summary>
    /// Whether a request arriving at <paramref name="now"/> must be refused. A configured max_queue_size is a plain bound,
    /// as in Triton. Otherwise the level starts shedding when a request finds <see cref="SheddingQueueSize"/> waiting, the
    /// oldest of them for <paramref name="shedAfter"/> (ticks) or longer, and while it sheds refuses past that bound.
    /// </summary>
    public bool IsFull(long now, long shedAfter)
    {
        if (ConfiguredMaxQueueSize > 0)
        {
            return Count >= ConfiguredMaxQueueSize;
        }
        if (SheddingQueueSize == 0 || Count < SheddingQueueSize)
        {
            return false;
        }
        if (!Shedding && (Ready.First ?? Delayed.First) is { } oldest && now - oldest.EnqueuedAt < shedAfter)
        {
            // More than the bound waits, but the queue drains: a burst.
            return false;
        }
        Shedding = true;
        return true;
    }

    public ModelQueuePolicy.Types.TimeoutAction TimeoutAction { get; }

    /// <summary>
    /// The queue timeout of a request in µs (0: none). As in Triton a request may shorten the default when overrides
    /// are allowed, never lengthen it; a default of 0 means "no limit", so any requested timeout is shorter than it.
    /// </summary>
    public long TimeoutMicroseconds(long requested)
    {
        var fallback = _defaultTimeoutMicroseconds;
        if (_allowTimeoutOverride && requested > 0 && (fallback <= 0 || requested < fallback))
        {
            return requested;
        }
        return Math.Max(fallback, 0);
    }
}
