using Microsoft.Extensions.Logging;

namespace InferenceServer.Core.Features.Sidecar;

/// <summary>The feature sidecar client's log lines.</summary>
internal static partial class SidecarClientLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Connected to the feature sidecar at {Address} (connection {Connection})")]
    public static partial void Connected(ILogger logger, string address, int connection);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the feature sidecar at {Address} (connection {Connection}): {Reason}; reconnecting")]
    public static partial void Lost(ILogger logger, string address, int connection, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "The connection to the feature sidecar at {Address} (connection {Connection}) failed in the server's own code; it reconnects, and the lookups it carried failed as unreachable")]
    public static partial void Failed(ILogger logger, Exception exception, string address, int connection);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot connect to the feature sidecar at {Address}: {Reason}; retrying every {BackoffMs} ms at most")]
    public static partial void Unreachable(ILogger logger, string address, string reason, int backoffMs);
}
