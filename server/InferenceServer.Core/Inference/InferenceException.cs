namespace InferenceServer.Core.Inference;

/// <summary>A request failure whose message is meant for the client: it names what is wrong and what was expected.</summary>
public sealed class InferenceException(InferenceErrorKind kind, string message, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>The protocol-neutral category.</summary>
    public InferenceErrorKind Kind { get; } = kind;

    /// <summary>
    /// Set when the request was shed because the model has more work than it may queue: how long the client should
    /// wait before trying again (REST's <c>Retry-After</c>, gRPC's retry pushback). Null for every other failure.
    /// </summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>
    /// The request had been accepted by a scheduler and this failure is its completion (a queue timeout, a failed run),
    /// not a refusal before it was queued; a gRPC stream marks such an answer final, as Triton's does.
    /// </summary>
    public bool Scheduled { get; init; }

    /// <summary>Shorthand for an <see cref="InferenceErrorKind.InvalidArgument"/> failure.</summary>
    public static InferenceException Invalid(string message) => new(InferenceErrorKind.InvalidArgument, message);
}
