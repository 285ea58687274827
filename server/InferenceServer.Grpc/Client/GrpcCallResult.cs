namespace InferenceServer.Grpc.Client;

/// <summary>
/// How a unary call ended: its status, the server's <c>grpc-message</c> (decoded), and the response message when the
/// call succeeded and the caller asked to keep it (empty otherwise).
/// </summary>
public readonly record struct GrpcCallResult(GrpcStatusCode Status, string? Message, ReadOnlyMemory<byte> Response)
{
    /// <summary>Whether the call ended with OK.</summary>
    public bool IsOk => Status == GrpcStatusCode.Ok;
}
