using Microsoft.Extensions.Logging;

namespace InferenceServer.Protocols.Grpc;

/// <summary>The gRPC front-end's log messages.</summary>
internal static partial class GrpcLog
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "gRPC call {Method} ended early: {Reason}")]
    public static partial void CallCancelled(ILogger logger, string method, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "ModelStreamInfer: an answer for request '{Id}' was not sent, {Reason}")]
    public static partial void StreamAnswerDropped(ILogger logger, string id, string reason);
}
