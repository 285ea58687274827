namespace InferenceServer.Grpc.Client;

/// <summary>How a <see cref="GrpcClient"/> connects.</summary>
public sealed record GrpcClientOptions
{
    /// <summary>
    /// Independent connection pools the calls are spread over, round robin. One HTTP/2 connection multiplexes many
    /// calls but is written by one loop on each side; a few let a load generator use more than one core.
    /// </summary>
    public int Connections { get; init; } = 1;

    /// <summary>Largest response message accepted; a larger one ends the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxResponseMessageSize { get; init; } = 64 * 1024 * 1024;

    /// <summary>Time allowed to open a connection.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Accept any server certificate over https (self-signed test servers).</summary>
    public bool AllowUntrustedCertificates { get; init; }

    /// <summary>Sent as <c>user-agent</c>.</summary>
    public string UserAgent { get; init; } = "inference-server-grpc-client";
}
