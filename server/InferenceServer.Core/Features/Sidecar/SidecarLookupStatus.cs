namespace InferenceServer.Core.Features.Sidecar;

/// <summary>How a lookup ended: the sidecar's answer status (the wire's values), or the client's own reason.</summary>
public enum SidecarLookupStatus : byte
{
    /// <summary>The store answered; rows follow.</summary>
    Ok = 0,

    /// <summary>The lookup's deadline passed before the store answered (the sidecar's, or the client's while it waited).</summary>
    DeadlineExceeded = 1,

    /// <summary>The store is down or refused (the sidecar's breaker is open).</summary>
    StoreUnavailable = 2,

    /// <summary>The sidecar refused the lookup itself (it names why).</summary>
    BadRequest = 3,

    /// <summary>Too many lookups are pending (at the sidecar, or at the client before it sent this one).</summary>
    Overloaded = 4,

    /// <summary>The client has no connection to the sidecar, or lost it while the lookup waited.</summary>
    Unreachable = 255,
}
