namespace InferenceServer.Core.Scheduling;

/// <summary>
/// One instance's place in the <see cref="RateLimiter"/>: the resources it must hold to run, its weight among the
/// instances that wait, and whether it waits, holds or neither. Its state is the limiter's, guarded by its lock; the
/// scheduler sets <see cref="Owner"/> and <see cref="Tag"/> once, before the lease is first used.
/// </summary>
internal sealed class ResourceLease
{
    internal ResourceLease(string model, string group, int device, int weight, string[] names, bool[] global, int[] counts)
    {
        Model = model;
        Group = group;
        Device = device;
        Weight = weight;
        Names = names;
        Global = global;
        Counts = counts;
        Resources = new LimitedResource[names.Length];
    }

    public string Model { get; }

    public string Group { get; }

    public int Device { get; }

    /// <summary>The config's priority (0 counts as 1): each grant moves the lease this far back in line.</summary>
    public int Weight { get; }

    public string[] Names { get; }

    public bool[] Global { get; }

    public int[] Counts { get; }

    /// <summary>The resources <see cref="Counts"/> are taken from, resolved when the lease is registered.</summary>
    public LimitedResource[] Resources { get; }

    /// <summary>Told when the lease is granted after waiting.</summary>
    public IResourceWaiter Owner { get; set; } = null!;

    /// <summary>The owner's handle on the instance.</summary>
    public object? Tag { get; set; }

    internal ResourceLeaseState State { get; set; }

    /// <summary>Its place in line (stride scheduling): the lowest pass is granted first.</summary>
    internal long Pass { get; set; }

    /// <summary>When it joined the line, to break ties between equal passes in arrival order.</summary>
    internal long Sequence { get; set; }

    /// <summary>Chains the leases one limiter call granted, so their owners are told outside every lock.</summary>
    public ResourceLease? NextGranted { get; set; }
}
