using System.Globalization;
using Grpc.Core;

namespace InferenceServer.LoadTest.Targets;

/// <summary>What went wrong with a request, as counted in reports: a category and, for HTTP and gRPC, the status code.</summary>
internal readonly record struct ErrorKey(ErrorCategory Category, int Code)
{
    public static ErrorKey Timeout => new(ErrorCategory.Timeout, 0);

    public static ErrorKey Connection => new(ErrorCategory.Connection, 0);

    public static ErrorKey Other => new(ErrorCategory.Other, 0);

    public static ErrorKey Http(int status) => new(ErrorCategory.Http, status);

    public static ErrorKey Grpc(StatusCode status) => new(ErrorCategory.Grpc, (int)status);

    /// <summary>The label in reports: <c>HTTP 503</c>, <c>gRPC UNAVAILABLE</c>, <c>timeout</c>, <c>connection</c>, <c>other</c>.</summary>
    public override string ToString() => Category switch
    {
        ErrorCategory.Http => "HTTP " + Code.ToString(CultureInfo.InvariantCulture),
        ErrorCategory.Grpc => "gRPC " + GrpcName((StatusCode)Code),
        ErrorCategory.Timeout => "timeout",
        ErrorCategory.Connection => "connection",
        _ => "other",
    };

    private static string GrpcName(StatusCode code) => code switch
    {
        StatusCode.OK => "OK",
        StatusCode.Cancelled => "CANCELLED",
        StatusCode.Unknown => "UNKNOWN",
        StatusCode.InvalidArgument => "INVALID_ARGUMENT",
        StatusCode.DeadlineExceeded => "DEADLINE_EXCEEDED",
        StatusCode.NotFound => "NOT_FOUND",
        StatusCode.AlreadyExists => "ALREADY_EXISTS",
        StatusCode.PermissionDenied => "PERMISSION_DENIED",
        StatusCode.ResourceExhausted => "RESOURCE_EXHAUSTED",
        StatusCode.FailedPrecondition => "FAILED_PRECONDITION",
        StatusCode.Aborted => "ABORTED",
        StatusCode.OutOfRange => "OUT_OF_RANGE",
        StatusCode.Unimplemented => "UNIMPLEMENTED",
        StatusCode.Internal => "INTERNAL",
        StatusCode.Unavailable => "UNAVAILABLE",
        StatusCode.DataLoss => "DATA_LOSS",
        StatusCode.Unauthenticated => "UNAUTHENTICATED",
        _ => ((int)code).ToString(CultureInfo.InvariantCulture),
    };
}
