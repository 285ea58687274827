namespace InferenceServer.Core.Features.Sidecar;

/// <summary>
/// A frame or body on the feature sidecar's socket that does not follow the wire format: the message names what was
/// wrong and what was expected. The side that reads one answers with a protocol error (kind 3) where it can name the
/// message's id, and closes the connection.
/// </summary>
public sealed class SidecarProtocolException : Exception
{
    /// <summary>A protocol error with a message that names what was wrong and what was expected.</summary>
    public SidecarProtocolException(string message)
        : base(message)
    {
    }

    /// <summary>A protocol error found while decoding, with the decoder's own exception kept for diagnostics.</summary>
    public SidecarProtocolException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
