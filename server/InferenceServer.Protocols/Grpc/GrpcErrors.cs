using InferenceServer.Core.Inference;
using InferenceServer.Grpc;

namespace InferenceServer.Protocols.Grpc;

/// <summary>The gRPC status for each protocol-neutral error kind.</summary>
internal static class GrpcErrors
{
    public static GrpcStatusCode StatusCode(InferenceErrorKind kind) => kind switch
    {
        InferenceErrorKind.InvalidArgument => GrpcStatusCode.InvalidArgument,
        InferenceErrorKind.NotFound => GrpcStatusCode.NotFound,
        InferenceErrorKind.Unavailable => GrpcStatusCode.Unavailable,
        InferenceErrorKind.TooLarge => GrpcStatusCode.ResourceExhausted,
        InferenceErrorKind.DeadlineExceeded => GrpcStatusCode.DeadlineExceeded,
        InferenceErrorKind.Cancelled => GrpcStatusCode.Cancelled,
        _ => GrpcStatusCode.Internal,
    };

    public static GrpcStatusException ToStatus(InferenceException e) => new(StatusCode(e.Kind), e.Message, e);
}
