namespace InferenceServer.Core.Scoring;

/// <summary>What <see cref="ScoreComparison"/> found: how many rows it compared, and each that differed.</summary>
public sealed class ComparisonReport
{
    /// <summary>The server compared against.</summary>
    public required Uri Server { get; init; }

    /// <summary>Rows sent to both and compared.</summary>
    public int Compared { get; init; }

    /// <summary>Rows neither side could score (bad rows), not sent.</summary>
    public int Skipped { get; init; }

    /// <summary>The rows that differ (each row once, at its first differing value).</summary>
    public IReadOnlyList<ComparedRow> Differences { get; init; } = [];
}
