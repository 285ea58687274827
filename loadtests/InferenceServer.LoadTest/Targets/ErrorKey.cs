using System.Globalization;
using InferenceServer.Grpc;

namespace InferenceServer.LoadTest.Targets;

/// <summary>What went wrong with a request, as counted in reports: a category and, for HTTP and gRPC, the status code.</summary>
internal readonly record struct ErrorKey(ErrorCategory Category, int Code)
{
    public static ErrorKey Timeout => new(ErrorCategory.Timeout, 0);

    public static ErrorKey Connection => new(ErrorCategory.Connection, 0);

    public static ErrorKey Other => new(ErrorCategory.Other, 0);

    public static ErrorKey Http(int status) => new(ErrorCategory.Http, status);

    public static ErrorKey Grpc(GrpcStatusCode status) => new(ErrorCategory.Grpc, (int)status);

    /// <summary>The label in reports: <c>HTTP 503</c>, <c>gRPC UNAVAILABLE</c>, <c>timeout</c>, <c>connection</c>, <c>other</c>.</summary>
    public override string ToString() => Category switch
    {
        ErrorCategory.Http => "HTTP " + Code.ToString(CultureInfo.InvariantCulture),
        ErrorCategory.Grpc => "gRPC " + GrpcName((GrpcStatusCode)Code),
        ErrorCategory.Timeout => "timeout",
        ErrorCategory.Connection => "connection",
        _ => "other",
    };

    private static string GrpcName(GrpcStatusCode code) => code switch
    {
        GrpcStatusCode.Ok => "OK",
        GrpcStatusCode.Cancelled => "CANCELLED",
        GrpcStatusCode.Unknown => "UNKNOWN",
        GrpcStatusCode.InvalidArgument => "INVALID_ARGUMENT",
        GrpcStatusCode.DeadlineExceeded => "DEADLINE_EXCEEDED",
        GrpcStatusCode.NotFound => "NOT_FOUND",
        GrpcStatusCode.AlreadyExists => "ALREADY_EXISTS",
        GrpcStatusCode.PermissionDenied => "PERMISSION_DENIED",
        GrpcStatusCode.ResourceExhausted => "RESOURCE_EXHAUSTED",
        GrpcStatusCode.FailedPrecondition => "FAILED_PRECONDITION",
        GrpcStatusCode.Aborted => "ABORTED",
        GrpcStatusCode.OutOfRange => "OUT_OF_RANGE",
        GrpcStatusCode.Unimplemented => "UNIMPLEMENTED",
        GrpcStatusCode.Internal => "INTERNAL",
        GrpcStatusCode.Unavailable => "UNAVAILABLE",
        GrpcStatusCode.DataLoss => "DATA_LOSS",
        GrpcStatusCode.Unauthenticated => "UNAUTHENTICATED",
        _ => ((int)code).ToString(CultureInfo.InvariantCulture),
    };
}
