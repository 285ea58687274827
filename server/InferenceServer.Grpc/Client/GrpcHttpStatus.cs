using System.Net;

namespace InferenceServer.Grpc.Client;

/// <summary>
/// The gRPC status a client reports for a response that is not HTTP 200 (an intermediary or a server that does not
/// speak gRPC answered), as the gRPC HTTP/2 protocol specifies.
/// </summary>
internal static class GrpcHttpStatus
{
    public static GrpcStatusCode ToGrpcStatus(HttpStatusCode status) => status switch
    {
        HttpStatusCode.BadRequest => GrpcStatusCode.Internal,
        HttpStatusCode.Unauthorized => GrpcStatusCode.Unauthenticated,
        HttpStatusCode.Forbidden => GrpcStatusCode.PermissionDenied,
        HttpStatusCode.NotFound => GrpcStatusCode.Unimplemented,
        HttpStatusCode.TooManyRequests or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout => GrpcStatusCode.Unavailable,
        _ => GrpcStatusCode.Unknown,
    };
}
