namespace InferenceServer.Core.Monitoring;

/// <summary>The statistics extension's <c>$batch_stat</c>: what executions of one batch size cost.</summary>
/// <param name="BatchSize">The batch size.</param>
/// <param name="ComputeInput">Preparing the inputs, per execution.</param>
/// <param name="ComputeInfer">Running the model, per execution.</param>
/// <param name="ComputeOutput">Extracting the outputs, per execution.</param>
public sealed record BatchStatistics(int BatchSize, DurationStatistic ComputeInput, DurationStatistic ComputeInfer, DurationStatistic ComputeOutput);
