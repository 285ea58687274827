namespace InferenceServer.Core.Backends;

/// <summary>An error the runtime reported, carrying its own message and code.</summary>
public sealed class BackendException(string message, string? code = null, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>The runtime's error code name (for ONNX Runtime: <c>INVALID_ARGUMENT</c>, <c>NO_SUCHFILE</c>, ...), if any.</summary>
    public string? Code { get; } = code;
}
