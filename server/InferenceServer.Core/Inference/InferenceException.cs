namespace InferenceServer.Core.Inference;

/// <summary>A request failure whose message is meant for the client: it names what is wrong and what was expected.</summary>
public sealed class InferenceException(InferenceErrorKind kind, string message, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>The protocol-neutral category.</summary>
    public InferenceErrorKind Kind { get; } = kind;

    /// <summary>Shorthand for an <see cref="InferenceErrorKind.InvalidArgument"/> failure.</summary>
    public static InferenceException Invalid(string message) => new(InferenceErrorKind.InvalidArgument, message);
}
