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

    /// <summary>The status for a request the server refused (a client error, never <see cref="InferenceErrorKind.Internal"/>), with its message.</summary>
    public static RpcException ToRpcException(InferenceException e) => new(new Status(Code(e.Kind), e.Message));

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
