using Microsoft.Extensions.Logging;

namespace InferenceServer.Protocols.Access;

/// <summary>The access area's log messages. None carries a secret: tokens are named, certificates by subject.</summary>
internal static partial class AccessLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Access to {Scope} ({Categories}): {Who}")]
    public static partial void ScopeAccess(ILogger logger, string scope, string categories, string who);

    [LoggerMessage(Level = LogLevel.Information, Message = "Refused {Method} {Path} from {Remote} ({Protocol}): scope {Scope}, {Reason}, credential '{Credential}'")]
    public static partial void Refused(ILogger logger, string method, string path, string remote, string protocol, string scope, string reason, string credential);

    [LoggerMessage(Level = LogLevel.Information, Message = "Refused a TLS handshake: client certificate '{Subject}' is not one the client CA issued for client authentication ({Status})")]
    public static partial void UntrustedClientCertificate(ILogger logger, string subject, string status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reloaded the {What}")]
    public static partial void Reloaded(ILogger logger, string what);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not reload the {What}; the previous one stays in use: {Problem}")]
    public static partial void ReloadFailed(ILogger logger, string what, string problem);
}
