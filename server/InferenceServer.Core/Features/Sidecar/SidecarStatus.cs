namespace InferenceServer.Core.Features.Sidecar;

/// <summary>The outcome of a lookup, the third element of a lookup result.</summary>
public enum SidecarStatus : byte
{
    /// <summary>Every key was looked up; the rows hold what the store has.</summary>
    Ok = 0,

    /// <summary>The store did not answer within the lookup's timeout.</summary>
    DeadlineExceeded = 1,

    /// <summary>The store is down or refused the read (or the circuit breaker is open after recent failures).</summary>
    StoreUnavailable = 2,

    /// <summary>The lookup itself is wrong (the message says what); sending it again will not help.</summary>
    BadRequest = 3,

    /// <summary>The connection has as many lookups in flight as the sidecar allows; retry later or elsewhere.</summary>
    Overloaded = 4,
}
