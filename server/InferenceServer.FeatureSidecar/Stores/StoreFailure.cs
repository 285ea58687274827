namespace InferenceServer.FeatureSidecar.Stores;

/// <summary>Why a connection to Redis could not be made; each is a value of the metrics' <c>reason</c> label.</summary>
internal enum StoreFailure
{
    /// <summary>No answer: the host is down, the port closed, the name unknown.</summary>
    Unreachable,

    /// <summary>Redis refused the user or password (<c>WRONGPASS</c>, <c>NOAUTH</c>).</summary>
    Credentials,

    /// <summary>The TLS handshake failed: a server certificate not trusted or not naming the host, a client certificate refused.</summary>
    Tls,
}
