namespace InferenceServer.Grpc;

/// <summary>One registered method: its path and the handler of its kind (exactly one is set).</summary>
internal sealed record GrpcMethod(string Path, GrpcUnaryHandler? Unary, GrpcDuplexStreamingHandler? DuplexStreaming);
