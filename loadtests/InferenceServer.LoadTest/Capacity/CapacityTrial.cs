using InferenceServer.LoadTest.Load;
using InferenceServer.LoadTest.Sla;

namespace InferenceServer.LoadTest.Capacity;

/// <summary>One short open-loop run of a capacity search: its rate, whether it met the SLA, and what it measured.</summary>
internal sealed record CapacityTrial(double Rate, bool Passed, RunSummary? Summary, IReadOnlyList<SlaCheck> Checks)
{
    /// <summary>Whether the generator itself fell behind the schedule (more than 1% of requests late).</summary>
    public bool GeneratorBehind => Summary is { LateShare: > 0.01 };
}
