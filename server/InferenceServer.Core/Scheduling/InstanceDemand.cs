using InferenceServer.Core.Repository;

namespace InferenceServer.Core.Scheduling;

/// <summary>What one instance asks of the rate limiter: its group's <c>rate_limiter</c> and the device it runs on.</summary>
/// <param name="Config">The group's <c>rate_limiter</c>, or null when it gives none.</param>
/// <param name="Device">The instance's device (a GPU ordinal; 0 for a CPU instance, as in Triton).</param>
/// <param name="Group">The group's name, for error messages.</param>
internal readonly record struct InstanceDemand(ModelRateLimiter? Config, int Device, string Group)
{
    /// <summary>Whether the instance asks for any resource: an instance that asks for none runs whenever it is idle.</summary>
    public bool AsksForResources => Config is { Resources.Count: > 0 };
}
