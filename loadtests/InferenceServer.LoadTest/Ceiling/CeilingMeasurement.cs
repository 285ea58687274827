using InferenceServer.LoadTest.Load;
using InferenceServer.LoadTest.Targets;

namespace InferenceServer.LoadTest.Ceiling;

/// <summary>The generator's own ceiling: closed-loop throughput against a trivial endpoint with a run's protocol and inputs.</summary>
internal sealed record CeilingMeasurement(Protocol Protocol, int Concurrency, string Target, RunSummary Summary)
{
    public double Throughput => Summary.Throughput;
}
