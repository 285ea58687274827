using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Backends;

/// <summary>What a model file says about one of its inputs or outputs; -1 marks a dynamic dimension.</summary>
public sealed record TensorInfo(string Name, DataType DataType, long[] Shape);
