using Grpc.Core;
using InferenceServer.Core.Inference;
using Microsoft.Extensions.Logging;

namespace InferenceServer.Protocols.Grpc;

/// <summary>The gRPC status for each protocol-neutral error kind, and for whatever else a method throws.</summary>
internal static class GrpcErrors
{
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
    /// whose deadline passed) is only a debug line, since nobody is left to answer; a fault of the server's own (an
    /// <see cref="InferenceErrorKind.Internal"/> error, anything else) is INTERNAL with a correlation id instead of its
    /// details, which are logged once under that id (<see cref="ServerFaults"/>).
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
            case InferenceException e when e.Kind != InferenceErrorKind.Internal && !(cancelled && e.Kind is InferenceErrorKind.Cancelled):
                return ToRpcException(e);
            case InferenceException or OperationCanceledException or IOException or InvalidOperationException when cancelled:
                // Grpc.AspNetCore has already answered DEADLINE_EXCEEDED at the deadline; after a reset nothing is sent.
                // Its deadline is on the system clock, so that is the clock to compare with.
                var deadlinePassed = context.Deadline <= DateTime.UtcNow;
                GrpcLog.CallCancelled(logger, context.Method, deadlinePassed ? "its deadline passed" : "the client cancelled it");
                return new RpcException(new Status(deadlinePassed ? StatusCode.DeadlineExceeded : StatusCode.Cancelled, deadlinePassed ? "Deadline exceeded." : "The call was cancelled."));
            default:
                var (message, trailers) = Fault(exception, context, logger);
                return new RpcException(new Status(StatusCode.Internal, message), trailers);
        }
    }

    /// <summary>
    /// Logs a fault of the server's own once, under the call's id, and returns what the client is told and the trailer
    /// carrying the id. <paramref name="request"/> says what failed when it is less than the whole call (a request of a stream).
    /// </summary>
    public static (string Message, Metadata Trailers) Fault(Exception fault, ServerCallContext context, ILogger logger, string? request = null)
    {
        var id = context.GetHttpContext().TraceIdentifier;
        return (ServerFaults.Report(logger, id, request ?? context.Method, fault), new Metadata { { ServerFaults.IdHeader, id } });
    }
}
