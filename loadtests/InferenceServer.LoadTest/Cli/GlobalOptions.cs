namespace InferenceServer.LoadTest.Cli;

/// <summary>What applies to the whole invocation rather than to one run: outputs, the ceiling probe, the display.</summary>
internal sealed record GlobalOptions
{
    public string? JsonPath { get; init; }

    public string? ReportPath { get; init; }

    /// <summary>Measure the generator's own ceiling before the runs.</summary>
    public bool Ceiling { get; init; }

    /// <summary>A trivial endpoint to measure the ceiling against; null hosts one in-process.</summary>
    public Uri? CeilingUrl { get; init; }

    public TimeSpan CeilingDuration { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>A bare <c>--ceiling</c> (no runs): the protocol to measure.</summary>
    public Targets.Protocol CeilingProtocol { get; init; } = Targets.Protocol.RestJson;

    /// <summary>Workers of the ceiling measurement when no closed-loop run says otherwise (a bare --ceiling, open-loop runs).</summary>
    public int CeilingConcurrency { get; init; } = 32;

    /// <summary>Warn when a run reaches this share of the ceiling.</summary>
    public double CeilingWarnShare { get; init; } = 0.8;

    /// <summary>Only host the trivial endpoint on this port (HTTP/1.1) and the next (HTTP/2), until Ctrl+C.</summary>
    public int? ServeTrivialPort { get; init; }

    public bool NoProgress { get; init; }

    public bool Help { get; init; }
}
