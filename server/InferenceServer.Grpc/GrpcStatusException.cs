namespace InferenceServer.Grpc;

/// <summary>
/// Ends a call with a gRPC status. A handler throws it to answer with <see cref="StatusCode"/> and the exception's
/// message as <c>grpc-message</c>; any other exception from a handler is answered as INTERNAL with a generic message.
/// </summary>
public sealed class GrpcStatusException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="statusCode">The status sent in <c>grpc-status</c>; should not be <see cref="GrpcStatusCode.Ok"/>.</param>
    /// <param name="message">The text sent (percent-encoded) in <c>grpc-message</c>; it reaches the client, so keep secrets out.</param>
    public GrpcStatusException(GrpcStatusCode statusCode, string message)
        : base(message)
    {
        StatusCode = statusCode;
    }

    /// <summary>Creates the exception, keeping <paramref name="innerException"/> for logs (it is never sent).</summary>
    public GrpcStatusException(GrpcStatusCode statusCode, string message, Exception innerException)
        : base(message, innerException)
    {
        StatusCode = statusCode;
    }

    /// <summary>The status the call ends with.</summary>
    public GrpcStatusCode StatusCode { get; }
}
