using Microsoft.Extensions.Logging;

namespace InferenceServer.Grpc;

/// <summary>The gRPC layer's log messages.</summary>
internal static partial class GrpcLog
{
    [LoggerMessage(Level = LogLevel.Error, Message = "gRPC method {Method} failed; the client was sent INTERNAL")]
    public static partial void HandlerFailed(ILogger logger, string method, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "gRPC method {Method} left a response message half written; the stream was reset")]
    public static partial void HalfWrittenMessage(ILogger logger, string method);

    [LoggerMessage(Level = LogLevel.Debug, Message = "gRPC call {Method} ended with {StatusCode}: {StatusMessage}")]
    public static partial void CallFailed(ILogger logger, string method, GrpcStatusCode statusCode, string statusMessage);
}
