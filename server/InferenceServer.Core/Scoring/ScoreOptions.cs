namespace InferenceServer.Core.Scoring;

/// <summary>What a batch scoring run does: the model, the input, the output and how to get there.</summary>
public sealed class ScoreOptions
{
    /// <summary>The model (or route) to score with, as a request names it.</summary>
    public required string Model { get; init; }

    /// <summary>The version; null: the one a request without a version gets.</summary>
    public string? ModelVersion { get; init; }

    /// <summary>A file, a folder or a glob (see <see cref="ScoreInput.ResolveFiles"/>).</summary>
    public required string Input { get; init; }

    /// <summary>The output folder (created when missing).</summary>
    public required string Output { get; init; }

    /// <summary>The part files' format.</summary>
    public OutputFormat OutputFormat { get; init; } = OutputFormat.Parquet;

    /// <summary>Rows per request; 0 chooses (the model's max_batch_size, which bounds it anyway).</summary>
    public int BatchSize { get; init; }

    /// <summary>Bytes the pipeline's buffers may hold (batches in flight); the Parquet row group being read is on top.</summary>
    public long MemoryLimit { get; init; } = 256L << 20;

    /// <summary>Input columns copied to every output row; null: the feature view's entity keys that the input has.</summary>
    public IReadOnlyList<string>? KeyColumns { get; init; }

    /// <summary>Continue the run whose manifest is in the output folder.</summary>
    public bool Resume { get; init; }

    /// <summary>This run's shard (0-based) of <see cref="Shards"/>.</summary>
    public int Shard { get; init; }

    /// <summary>How many shards the input is cut into.</summary>
    public int Shards { get; init; } = 1;

    /// <summary>When to stop for bad rows.</summary>
    public BadRowLimit MaxBadRows { get; init; } = BadRowLimit.None;

    /// <summary>The quarantine file (JSONL); null: <c>_quarantine.jsonl</c> in the output folder.</summary>
    public string? Quarantine { get; init; }

    /// <summary>The byte size CSV and JSONL files are cut into splits at.</summary>
    public long SplitBytes { get; init; } = InputSplits.DefaultSplitBytes;
}
