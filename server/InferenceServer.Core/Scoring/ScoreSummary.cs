namespace InferenceServer.Core.Scoring;

/// <summary>What a finished (or stopped) run did.</summary>
public sealed class ScoreSummary
{
    /// <summary>The model and the version(s) that scored, as the responses named them.</summary>
    public required string Model { get; init; }

    /// <summary>The versions that answered, comma-separated (one, unless the version changed during the run).</summary>
    public required string ModelVersions { get; init; }

    /// <summary>The output folder.</summary>
    public required string Output { get; init; }

    /// <summary>The quarantine file.</summary>
    public required string Quarantine { get; init; }

    /// <summary>Rows scored this run.</summary>
    public long Rows { get; init; }

    /// <summary>Rows quarantined this run.</summary>
    public long BadRows { get; init; }

    /// <summary>Rows in the output over every committed split (earlier runs included).</summary>
    public long TotalRows { get; init; }

    /// <summary>Rows quarantined over every committed split.</summary>
    public long TotalBadRows { get; init; }

    /// <summary>Splits this run committed.</summary>
    public int SplitsScored { get; init; }

    /// <summary>Splits found done by <c>--resume</c>.</summary>
    public int SplitsResumed { get; init; }

    /// <summary>The shard's splits.</summary>
    public int SplitsTotal { get; init; }

    /// <summary>The shard, <c>i/N</c>.</summary>
    public required string Shard { get; init; }

    /// <summary>Rows per request.</summary>
    public int BatchSize { get; init; }

    /// <summary>This run's duration.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>Rows per second, this run.</summary>
    public double RowsPerSecond => Elapsed.TotalSeconds > 0 ? Rows / Elapsed.TotalSeconds : 0;

    /// <summary>True when every split is committed.</summary>
    public bool Complete { get; init; }

    /// <summary>Columns the feature view (or the model) reads that no input file has: every row takes their default, or is refused.</summary>
    public IReadOnlyList<string> MissingColumns { get; init; } = [];
}
