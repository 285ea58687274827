namespace InferenceServer.LoadTest.Inputs;

/// <summary>The answer to <c>GET /v2/models/{m}</c> (or gRPC ModelMetadata).</summary>
internal sealed record ModelMetadata(string Name, IReadOnlyList<string> Versions, string Platform, IReadOnlyList<TensorMetadata> Inputs, IReadOnlyList<TensorMetadata> Outputs);
