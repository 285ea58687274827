namespace InferenceServer.Core.Repository;

/// <summary><c>dynamic_batching</c>, with Triton's semantics (applied by the scheduler).</summary>
public sealed record DynamicBatchingConfig
{
    /// <summary><c>preferred_batch_size</c>.</summary>
    public IReadOnlyList<int> PreferredBatchSizes { get; init; } = [];

    /// <summary><c>max_queue_delay_microseconds</c>.</summary>
    public long MaxQueueDelayMicroseconds { get; init; }

    /// <summary><c>preserve_ordering</c>.</summary>
    public bool PreserveOrdering { get; init; }

    /// <summary><c>priority_levels</c>; 0 means priorities are not used.</summary>
    public int PriorityLevels { get; init; }

    /// <summary><c>default_priority_level</c>.</summary>
    public int DefaultPriorityLevel { get; init; }

    /// <summary><c>default_queue_policy</c>.</summary>
    public QueuePolicyConfig DefaultQueuePolicy { get; init; } = new();

    /// <summary><c>priority_queue_policy</c>: per priority level, overriding the default.</summary>
    public IReadOnlyDictionary<int, QueuePolicyConfig> PriorityQueuePolicy { get; init; } = new Dictionary<int, QueuePolicyConfig>();
}
