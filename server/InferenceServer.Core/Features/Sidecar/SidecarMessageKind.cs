namespace InferenceServer.Core.Features.Sidecar;

/// <summary>The first element of every body on the feature sidecar's socket.</summary>
public enum SidecarMessageKind : byte
{
    /// <summary><c>[0, id]</c>: a ping, answered with the same body (the pong).</summary>
    Ping = 0,

    /// <summary><c>[1, id, timeout_ms, view, fields, keys]</c>: look up <c>fields</c> of every key.</summary>
    Lookup = 1,

    /// <summary><c>[2, id, status, message, rows]</c>: the answer to a lookup, rows in key order.</summary>
    LookupResult = 2,

    /// <summary><c>[3, id, message]</c>: the peer sent something that does not follow the wire format.</summary>
    ProtocolError = 3,
}
