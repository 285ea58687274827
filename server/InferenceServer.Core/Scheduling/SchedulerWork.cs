using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Scheduling;

/// <summary>What a scheduler needs of one request: model-shaped inputs, the outputs wanted, and its scheduling parameters.</summary>
/// <param name="Inputs">Input tensors named and shaped as the model itself expects them (reshape already applied).</param>
/// <param name="OutputNames">Model output names to produce.</param>
/// <param name="Priority">The request's priority level (0 = the model's default).</param>
/// <param name="TimeoutMicroseconds">The request's queue timeout (0 = the queue policy's default).</param>
public sealed record SchedulerWork(
    IReadOnlyList<Tensor> Inputs,
    IReadOnlyList<string> OutputNames,
    int Priority,
    long TimeoutMicroseconds);
