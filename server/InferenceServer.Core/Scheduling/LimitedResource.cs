namespace InferenceServer.Core.Scheduling;

/// <summary>One rate-limiter resource on one device (or global): how many copies exist and how many are held. Guarded by the limiter's lock.</summary>
internal sealed class LimitedResource(string name, int device)
{
    public string Name { get; } = name;

    /// <summary>The device the copies exist on; <see cref="RateLimiter.GlobalDevice"/> for a global resource.</summary>
    public int Device { get; } = device;

    public int Total { get; set; }

    public int Used { get; set; }
}
