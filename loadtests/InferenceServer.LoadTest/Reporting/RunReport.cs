using InferenceServer.LoadTest.Capacity;
using InferenceServer.LoadTest.Ceiling;
using InferenceServer.LoadTest.Cli;
using InferenceServer.LoadTest.Load;
using InferenceServer.LoadTest.Sla;

namespace InferenceServer.LoadTest.Reporting;

/// <summary>Everything reported about one run: what was asked, what was measured, the SLA verdict and the warnings.</summary>
internal sealed class RunReport
{
    public required RunOptions Options { get; init; }

    /// <summary>The measured run; for a capacity search, the last passing trial (or the last trial when none passed).</summary>
    public RunSummary? Summary { get; init; }

    public IReadOnlyList<SlaCheck> Checks { get; init; } = [];

    public CapacityResult? Capacity { get; init; }

    /// <summary>The ceiling measured for this run's protocol, when one was.</summary>
    public CeilingMeasurement? Ceiling { get; init; }

    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Why the run failed, when it did for a reason other than an SLA assertion.</summary>
    public IReadOnlyList<string> Failures { get; init; } = [];

    public required int ExitCode { get; init; }

    public bool Passed => ExitCode == ExitCodes.Passed;

    /// <summary>The run's throughput as a share of the generator's ceiling.</summary>
    public double? CeilingShare => Ceiling is { Throughput: > 0 } c && Summary is not null ? Summary.Throughput / c.Throughput : null;
}
