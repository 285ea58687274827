namespace InferenceServer.Protocols.Grpc;

/// <summary>Marks a connection accepted on the gRPC endpoint, so its requests are answered by the gRPC services alone.</summary>
internal sealed class GrpcConnectionFeature
{
    public static readonly GrpcConnectionFeature Instance = new();

    private GrpcConnectionFeature()
    {
    }
}
