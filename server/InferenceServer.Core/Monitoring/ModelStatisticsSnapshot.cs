namespace InferenceServer.Core.Monitoring;

/// <summary>
/// One reading of a version's <see cref="ModelStatistics"/>, shaped like the statistics
/// extension's <c>$model_stat</c>. Each field is read atomically; the fields together are not one
/// instant (requests may finish between two reads), which is what Triton's statistics promise too.
/// </summary>
public sealed record ModelStatisticsSnapshot
{
    /// <summary>Model name.</summary>
    public required string Name { get; init; }

    /// <summary>Version, as the protocols spell it.</summary>
    public required string Version { get; init; }

    /// <summary>
    /// This server's addition: the precision served when the config asked for a quantized variant (<c>int8-dynamic</c>,
    /// <c>fp32</c> when the gate refused it); empty otherwise.
    /// </summary>
    public string Precision { get; init; } = "";

    /// <summary>When the last request finished (either way), in milliseconds since the Unix epoch; 0 if none has.</summary>
    public long LastInferenceMs { get; init; }

    /// <summary>Successful inferences: a request counts as its batch size.</summary>
    public long InferenceCount { get; init; }

    /// <summary>Successful model executions.</summary>
    public long ExecutionCount { get; init; }

    /// <summary>Successful requests and their end-to-end durations.</summary>
    public DurationStatistic Success { get; init; }

    /// <summary>Failed requests and their end-to-end durations.</summary>
    public DurationStatistic Fail { get; init; }

    /// <summary>Time successful requests waited in the queue.</summary>
    public DurationStatistic Queue { get; init; }

    /// <summary>Input preparation, per successful request.</summary>
    public DurationStatistic ComputeInput { get; init; }

    /// <summary>Model execution, per successful request.</summary>
    public DurationStatistic ComputeInfer { get; init; }

    /// <summary>Output extraction, per successful request.</summary>
    public DurationStatistic ComputeOutput { get; init; }

    /// <summary>Per batch size executed, ascending.</summary>
    public IReadOnlyList<BatchStatistics> Batches { get; init; } = [];
}
