namespace InferenceServer.Core.Scheduling;

/// <summary>Why a scheduler failed a request; the metrics' <c>reason</c> label follows Triton's names.</summary>
public enum SchedulerFailure
{
    /// <summary>REJECTED: the queue was full, or the request's queue timeout expired with timeout_action REJECT.</summary>
    Rejected,
    /// <summary>CANCELED: the client went away while the request waited.</summary>
    Canceled,
    /// <summary>BACKEND: the runtime failed to execute the batch.</summary>
    Backend,
    /// <summary>OTHER: anything else (the model is unloading, an internal error).</summary>
    Other,
}
