namespace InferenceServer.LoadTest.Inputs;

/// <summary>An input or output as the model's metadata describes it; -1 marks a dimension the client chooses.</summary>
internal sealed record TensorMetadata(string Name, string DataType, long[] Shape);
