namespace InferenceServer.Core.Backends;

/// <summary>The inputs and outputs a loaded model declares, in the model's own order.</summary>
public sealed record ModelSignature(IReadOnlyList<TensorInfo> Inputs, IReadOnlyList<TensorInfo> Outputs);
