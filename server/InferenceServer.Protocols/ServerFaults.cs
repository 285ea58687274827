using Microsoft.Extensions.Logging;

namespace InferenceServer.Protocols;

/// <summary>
/// The server's own faults, answered 500 (REST) or INTERNAL (gRPC): each is logged once, at Error with its exception,
/// under a correlation id that the answer carries instead of the exception's text, which can show the server's
/// internals (a type, a file path). The id is ASP.NET Core's <c>TraceIdentifier</c> of the call, the <c>RequestId</c>
/// of its access-log entry and of its other log lines.
/// </summary>
internal static partial class ServerFaults
{
    /// <summary>The response header (REST) and trailer (gRPC) that carry the id.</summary>
    public const string IdHeader = "x-request-id";

    /// <summary>Logs <paramref name="fault"/> under <paramref name="id"/> and returns what the client is told.</summary>
    /// <param name="request">What was being served, for the log: <c>POST /v2/models/m/infer</c>, a gRPC method.</param>
    public static string Report(ILogger logger, string id, string request, Exception fault)
    {
        LogFault(logger, id, request, fault);
        return $"internal error, id {id}; the server's log has the details under this id";
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Internal error {Id} serving {Request}")]
    private static partial void LogFault(ILogger logger, string id, string request, Exception exception);
}
