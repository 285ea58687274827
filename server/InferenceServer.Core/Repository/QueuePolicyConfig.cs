namespace InferenceServer.Core.Repository;

/// <summary>A <c>ModelQueuePolicy</c>.</summary>
public sealed record QueuePolicyConfig
{
    /// <summary><c>timeout_action</c>: REJECT (default) or DELAY.</summary>
    public TimeoutAction TimeoutAction { get; init; } = TimeoutAction.Reject;

    /// <summary><c>default_timeout_microseconds</c>; 0 means no timeout.</summary>
    public long DefaultTimeoutMicroseconds { get; init; }

    /// <summary><c>allow_timeout_override</c>.</summary>
    public bool AllowTimeoutOverride { get; init; }

    /// <summary><c>max_queue_size</c>; 0 means unbounded.</summary>
    public int MaxQueueSize { get; init; }
}
