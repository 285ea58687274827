namespace InferenceServer.Core.Scheduling;

/// <summary>Where a <see cref="ResourceLease"/> stands.</summary>
internal enum ResourceLeaseState
{
    /// <summary>Holds nothing and does not wait.</summary>
    Idle,

    /// <summary>In line for its resources.</summary>
    Waiting,

    /// <summary>Holds its resources: its instance runs (or is about to).</summary>
    Held,

    /// <summary>Unregistered: the instance is gone.</summary>
    Removed,
}
