using InferenceServer.Core.Inference;

namespace InferenceServer.Core.Backends;

/// <summary>An error the runtime reported (or a backend found before calling it), carrying its own message and code.</summary>
public sealed class BackendException(string message, InferenceErrorKind kind = InferenceErrorKind.Internal, string? code = null, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>
    /// How a request that met this error is answered: <see cref="InferenceErrorKind.InvalidArgument"/> when the
    /// request itself was wrong (a shape or value the model refuses), otherwise <see cref="InferenceErrorKind.Internal"/>.
    /// </summary>
    public InferenceErrorKind Kind { get; } = kind;

    /// <summary>The runtime's own error code name (for ONNX Runtime: <c>INVALID_ARGUMENT</c>, <c>NO_SUCHFILE</c>, ...), if any; for diagnostics.</summary>
    public string? Code { get; } = code;
}
