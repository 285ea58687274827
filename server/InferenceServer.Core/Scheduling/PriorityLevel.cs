using InferenceServer.Core.Repository;

namespace InferenceServer.Core.Scheduling;

/// <summary>
/// One priority level's queue and its <c>ModelQueuePolicy</c>. Requests whose timeout expired under
/// timeout_action DELAY move to <see cref="Delayed"/>, which is served only after <see cref="Ready"/>.
/// </summary>
internal sealed class PriorityLevel(int level, ModelQueuePolicy policy)
{
    /// <summary>The 1-based level (1 is the highest priority).</summary>
    public int Level { get; } = level;

    public RequestList Ready { get; } = new(2 * (level - 1));

    public RequestList Delayed { get; } = new((2 * (level - 1)) + 1);

    public int Count => Ready.Count + Delayed.Count;

    public int MaxQueueSize { get; } = (int)policy.MaxQueueSize;

    public bool IsFull => MaxQueueSize > 0 && Count >= MaxQueueSize;

    public ModelQueuePolicy.Types.TimeoutAction TimeoutAction { get; } = policy.TimeoutAction;

    /// <summary>
    /// The queue timeout of a request in µs (0: none). Triton lets a request shorten the default
    /// when allow_timeout_override is set, never lengthen it; a default of 0 means "no limit", so any
    /// requested timeout is shorter than it.
    /// </summary>
    public long TimeoutMicroseconds(long requested)
    {
        var fallback = (long)policy.DefaultTimeoutMicroseconds;
        if (policy.AllowTimeoutOverride && requested > 0 && (fallback <= 0 || requested < fallback))
        {
            return requested;
        }
        return Math.Max(fallback, 0);
    }
}
