namespace InferenceServer.Core.Routing.Rollouts;

/// <summary>One variant's figures over the current rollout step.</summary>
/// <param name="Requests">Requests answered, either way.</param>
/// <param name="Failures">Requests that failed.</param>
/// <param name="LatencySamples">Successful requests timed: the percentiles are over these.</param>
/// <param name="P50Ms">Median latency of the successful requests, in milliseconds (0 with none).</param>
/// <param name="P99Ms">99th percentile latency of the successful requests, in milliseconds (0 with none).</param>
public readonly record struct VariantWindowSnapshot(long Requests, long Failures, long LatencySamples, double P50Ms, double P99Ms)
{
    /// <summary>Failures over requests; 0 with no request.</summary>
    public double ErrorRate => Requests == 0 ? 0 : (double)Failures / Requests;
}
