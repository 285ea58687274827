using Grpc.Core;
using InferenceServer.Core.Inference;
using Microsoft.Extensions.Logging;

namespace InferenceServer.Protocols.Grpc;

/// <summary>The gRPC status for each protocol-neutral error kind, and for whatever else a method throws.</summary>
internal static class GrpcErrors
{
    /// <summary>What the client of a method that failed unexpectedly is told; the details go to the log only.</summary>
    public const string HandlerFailedMessage = "The method failed on the server.";

    public static StatusCode Code(InferenceErrorKind kind) => kind switch
    {
        InferenceErrorKind.InvalidArgument => StatusCode.InvalidArgument,
        InferenceErrorKind.NotFound => StatusCode.NotFound,
        InferenceErrorKind.Unavailable => StatusCode.Unavailable,
        InferenceErrorKind.TooLarge => StatusCode.ResourceExhausted,
        InferenceErrorKind.DeadlineExceeded => StatusCode.DeadlineExceeded,
        InferenceErrorKind.Cancelled => StatusCode.Cancelled,
        _ => StatusCode.Internal,
    };

    /// <summary>gRPC's retry pushback trailer: a client's retry policy waits this many milliseconds before trying again.</summary>
    public const string RetryPushbackTrailer = "grpc-retry-pushback-ms";

    /// <summary>The status of <paramref name="e"/>; a request shed under load also carries the retry pushback REST sends as Retry-After.</summary>
    public static RpcException ToRpcException(InferenceException e)
    {
        var status = new Status(Code(e.Kind), e.Message);
        if (e.RetryAfter is not { } wait)
        {
            return new RpcException(status);
        }
        var trailers = new Metadata { { RetryPushbackTrailer, ((long)wait.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture) } };
        return new RpcException(status, trailers);
    }

    /// <summary>
    /// The status a method ends with for what it threw: core errors keep their kind; a call the client cancelled (or
    /// whose deadline passed) is only a debug line, since nobody is left to answer; anything else is INTERNAL without
    /// its details, which are logged as an error.
    /// </summary>
    public static RpcException Translate(Exception exception, ServerCallContext context, ILogger logger)
    {
        var cancelled = context.CancellationToken.IsCancellationRequested;
        switch (exception)
        {
            case RpcException rpc:
                return rpc;
            case InferenceException { Scheduled: true } when context.Deadline <= DateTime.UtcNow:
                // The call's deadline became the request's queue timeout, and both expired together: the client is told
                // what it set, as Grpc.AspNetCore tells it when its own deadline timer is first.
                return new RpcException(new Status(StatusCode.DeadlineExceeded, "Deadline exceeded."));
            case InferenceException e when !(cancelled && e.Kind is InferenceErrorKind.Cancelled):
                return ToRpcException(e);
            case InferenceException or OperationCanceledException or IOException or InvalidOperationException when cancelled:
                // Grpc.AspNetCore has already answered DEADLINE_EXCEEDED at the deadline; after a reset nothing is sent.
                // Its deadline is on the system clock, so that is the clock to compare with.
                var deadlinePassed = context.Deadline <= DateTime.UtcNow;
                GrpcLog.CallCancelled(logger, context.Method, deadlinePassed ? "its deadline passed" : "the client cancelled it");
                return new RpcException(new Status(deadlinePassed ? StatusCode.DeadlineExceeded : StatusCode.Cancelled, deadlinePassed ? "Deadline exceeded." : "The call was cancelled."));
            default:
                GrpcLog.MethodFailed(logger, context.Method, exception);
                return new RpcException(new Status(StatusCode.Internal, HandlerFailedMessage));
        }
    }
}
