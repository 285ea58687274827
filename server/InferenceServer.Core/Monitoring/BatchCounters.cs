namespace InferenceServer.Core.Monitoring;

/// <summary>The counters of one batch size: one count per execution, durations summed.</summary>
internal sealed class BatchCounters
{
    public DurationCounter ComputeInput;
    public DurationCounter ComputeInfer;
    public DurationCounter ComputeOutput;
}
