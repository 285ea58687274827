namespace InferenceServer.Core.Inference;

/// <summary>Why a request failed, in protocol-neutral terms; each front-end maps it to its own status.</summary>
public enum InferenceErrorKind
{
    /// <summary>The request itself is wrong (HTTP 400, gRPC INVALID_ARGUMENT).</summary>
    InvalidArgument,
    /// <summary>No such model or version (HTTP 404, gRPC NOT_FOUND).</summary>
    NotFound,
    /// <summary>The model exists but cannot serve now: not loaded, failed, queue full (HTTP 503, gRPC UNAVAILABLE).</summary>
    Unavailable,
    /// <summary>The request is larger than allowed (HTTP 413, gRPC RESOURCE_EXHAUSTED).</summary>
    TooLarge,
    /// <summary>The request's deadline passed before it ran (HTTP 504? Triton uses 400; gRPC DEADLINE_EXCEEDED).</summary>
    DeadlineExceeded,
    /// <summary>The client went away (gRPC CANCELLED).</summary>
    Cancelled,
    /// <summary>A fault in the server or the runtime (HTTP 500, gRPC INTERNAL).</summary>
    Internal,
}
