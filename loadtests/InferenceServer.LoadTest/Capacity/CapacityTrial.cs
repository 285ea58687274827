using InferenceServer.LoadTest.Load;
using InferenceServer.LoadTest.Sla;

namespace InferenceServer.LoadTest.Capacity;

/// <summary>One open-loop run of a capacity search: its rate, whether it met the SLA, and what it measured.</summary>
internal sealed record CapacityTrial(double Rate, bool Passed, RunSummary? Summary, IReadOnlyList<SlaCheck> Checks)
{
    /// <summary>A full trial gathered the samples the SLA's percentiles need; a scouting trial (finding the bracket) a tenth of them.</summary>
    public bool Full { get; init; }

    /// <summary>Its measured length.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>The successes it was sized for (0 when the SLA has no percentile).</summary>
    public long SamplesWanted { get; init; }

    /// <summary>The machine's one-minute load average when it started (null where unknown), to tell a noisy machine from a slow server.</summary>
    public double? LoadAverage { get; init; }

    /// <summary>Whether the generator itself fell behind the schedule (more than 1% of requests late).</summary>
    public bool GeneratorBehind => Summary is { LateShare: > 0.01 };
}
