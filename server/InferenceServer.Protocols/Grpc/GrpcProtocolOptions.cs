using System.Globalization;

namespace InferenceServer.Protocols.Grpc;

/// <summary>Settings of the gRPC front-end (configuration section <c>Grpc</c>).</summary>
public sealed class GrpcProtocolOptions
{
    /// <summary>The response encodings <see cref="ResponseCompression"/> may name, as gRPC spells them.</summary>
    public static readonly IReadOnlyList<string> Compressions = ["gzip", "deflate"];

    /// <summary><c>--allow-grpc</c>.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary><c>--grpc-address</c>; null: the HTTP address.</summary>
    public string? Address { get; set; }

    /// <summary><c>--grpc-port</c>; 0 picks a free port.</summary>
    public int Port { get; set; } = 8001;

    /// <summary><c>--grpc-server-cert</c>: a PEM certificate; with <see cref="ServerKey"/>, gRPC is served over TLS.</summary>
    public string? ServerCertificate { get; set; }

    /// <summary><c>--grpc-server-key</c>: the PEM private key of <see cref="ServerCertificate"/>.</summary>
    public string? ServerKey { get; set; }

    /// <summary>Largest request message accepted (framed, and after decompression); larger ones get RESOURCE_EXHAUSTED. Large enough for a batch of images by default, like the REST body limit.</summary>
    public int MaxReceiveMessageBytes { get; set; } = 256 * 1024 * 1024;

    /// <summary>Largest response message sent; a larger one ends its call with RESOURCE_EXHAUSTED. Unlimited by default.</summary>
    public int MaxSendMessageBytes { get; set; } = int.MaxValue;

    /// <summary>
    /// Triton's <c>--grpc-keepalive-time</c>: an HTTP/2 ping goes to a client after this long without a frame from it, so
    /// a connection whose peer vanished (a long stream, a dead host) is found and closed. Triton's default is 2 hours;
    /// a minute finds dead peers before many pile up.
    /// </summary>
    public int KeepAliveTimeMilliseconds { get; set; } = 60_000;

    /// <summary>Triton's <c>--grpc-keepalive-timeout</c>: how long the answer to a keep-alive ping may take before the connection is closed.</summary>
    public int KeepAliveTimeoutMilliseconds { get; set; } = 20_000;

    /// <summary>
    /// The most requests of one <c>ModelStreamInfer</c> stream accepted and not yet answered; the server reads the next
    /// request only once one of them is answered, so a client that sends without reading its answers is held back by
    /// HTTP/2 flow control instead of filling the server's memory.
    /// </summary>
    public int MaxStreamRequestsInFlight { get; set; } = 128;

    /// <summary>
    /// <c>gzip</c> or <c>deflate</c> to compress responses for clients that accept that encoding; empty (the default)
    /// sends them uncompressed. Requests compressed with identity, gzip or deflate are always accepted.
    /// </summary>
    public string? ResponseCompression { get; set; }

    /// <summary>
    /// Restricted protocol groups, Triton's <c>--grpc-restricted-protocol</c>: each
    /// <c>&lt;category&gt;[,...]:&lt;key&gt;=&lt;value&gt;</c>; a call to a listed category without metadata
    /// <c>triton-grpc-protocol-&lt;key&gt;</c> set to <c>value</c> gets PERMISSION_DENIED. Empty: nothing is restricted.
    /// </summary>
    public List<string> RestrictedProtocol { get; set; } = [];

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that is out of range.</summary>
    public void Validate()
    {
        if (Port is < 0 or > 65535)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Grpc:Port {Port} is not valid; expected 0 to 65535"));
        }
        if (string.IsNullOrEmpty(ServerCertificate) != string.IsNullOrEmpty(ServerKey))
        {
            throw new ArgumentException("gRPC TLS needs both Grpc:ServerCertificate and Grpc:ServerKey (PEM files)");
        }
        if (MaxReceiveMessageBytes <= 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Grpc:MaxReceiveMessageBytes is {MaxReceiveMessageBytes}; it must be at least 1"));
        }
        if (MaxSendMessageBytes <= 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Grpc:MaxSendMessageBytes is {MaxSendMessageBytes}; it must be at least 1"));
        }
        if (KeepAliveTimeMilliseconds < 1000)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Grpc:KeepAliveTimeMilliseconds is {KeepAliveTimeMilliseconds}; it must be at least 1000"));
        }
        if (KeepAliveTimeoutMilliseconds < 1000)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Grpc:KeepAliveTimeoutMilliseconds is {KeepAliveTimeoutMilliseconds}; it must be at least 1000"));
        }
        if (MaxStreamRequestsInFlight < 1)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Grpc:MaxStreamRequestsInFlight is {MaxStreamRequestsInFlight}; it must be at least 1"));
        }
        if (!string.IsNullOrEmpty(ResponseCompression) && !Compressions.Contains(ResponseCompression))
        {
            throw new ArgumentException($"Grpc:ResponseCompression '{ResponseCompression}' is not supported; use gzip or deflate, or leave it empty");
        }
    }
}
