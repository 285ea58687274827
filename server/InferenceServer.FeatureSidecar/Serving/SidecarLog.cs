using Microsoft.Extensions.Logging;

namespace InferenceServer.FeatureSidecar.Serving;

/// <summary>The sidecar's log lines.</summary>
internal static partial class SidecarLog
{
    [LoggerMessage(1, LogLevel.Information, "feature sidecar listening on unix:{Socket}, online store {Store}")]
    public static partial void Listening(ILogger logger, string socket, string store);

    [LoggerMessage(2, LogLevel.Information, "replaced a stale socket file at {Socket} (nothing was listening on it)")]
    public static partial void ReplacedStaleSocket(ILogger logger, string socket);

    [LoggerMessage(3, LogLevel.Warning, "refused a connection's frame and closed it: {Problem}")]
    public static partial void ProtocolError(ILogger logger, string problem);

    [LoggerMessage(4, LogLevel.Error, "a lookup failed unexpectedly; the connection is closed")]
    public static partial void LookupCrashed(ILogger logger, Exception exception);

    [LoggerMessage(5, LogLevel.Information, "stopping: finishing {Connections} connections' lookups in flight")]
    public static partial void Stopping(ILogger logger, int connections);

    [LoggerMessage(6, LogLevel.Warning, "{Connections} connections still had lookups in flight after {Seconds} s; closing them")]
    public static partial void DrainTimedOut(ILogger logger, int connections, int seconds);

    [LoggerMessage(7, LogLevel.Information, "stopped; removed unix:{Socket}")]
    public static partial void Stopped(ILogger logger, string socket);

    [LoggerMessage(8, LogLevel.Warning, "accepting a connection failed: {Problem}")]
    public static partial void AcceptFailed(ILogger logger, string problem);

    [LoggerMessage(9, LogLevel.Information, "metrics on http://+:{Port}/metrics")]
    public static partial void Metrics(ILogger logger, int port);

    [LoggerMessage(10, LogLevel.Warning, "a client reported a protocol error and the connection is closed: {Problem}")]
    public static partial void ClientProtocolError(ILogger logger, string problem);

    [LoggerMessage(11, LogLevel.Information, "connected to the online store at {Store}")]
    public static partial void StoreConnected(ILogger logger, string store);

    [LoggerMessage(12, LogLevel.Warning, "{Problem}; retrying (lookups answer store_unavailable until then)")]
    public static partial void StoreConnectFailed(ILogger logger, string problem);

    [LoggerMessage(13, LogLevel.Information, "reloaded the store file {Path}: {Entities} entities")]
    public static partial void StoreReloaded(ILogger logger, string path, int entities);

    [LoggerMessage(14, LogLevel.Warning, "could not reload the store file: {Problem}; still serving the {Entities} entities loaded before")]
    public static partial void StoreReloadFailed(ILogger logger, string problem, int entities);
}
