namespace InferenceServer.Protocols.Grpc;

/// <summary>Endpoint metadata of every gRPC endpoint (our service, health, reflection, UNIMPLEMENTED for the rest): they answer the gRPC port only.</summary>
internal sealed class GrpcEndpointTag
{
    public static readonly GrpcEndpointTag Instance = new();

    private GrpcEndpointTag()
    {
    }
}
