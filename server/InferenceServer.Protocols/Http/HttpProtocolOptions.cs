namespace InferenceServer.Protocols.Http;

/// <summary>Settings of the REST front-end (configuration section <c>Http</c>).</summary>
public sealed class HttpProtocolOptions
{
    /// <summary><c>--allow-http</c>.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary><c>--http-address</c>: an IP address or <c>localhost</c>.</summary>
    public string Address { get; set; } = "0.0.0.0";

    /// <summary><c>--http-port</c>; 0 picks a free port.</summary>
    public int Port { get; set; } = 8000;

    /// <summary>
    /// Largest request body accepted, before and after decompression; larger ones get 413. Large enough for a batch of
    /// images by default.
    /// </summary>
    public long MaxRequestBodyBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// Smallest successful response compressed for a client that accepts gzip or deflate. Below about a network packet
    /// the compressed body saves no round trip and its framing can make it larger.
    /// </summary>
    public long ResponseCompressionMinimumBytes { get; set; } = 1024;

    /// <summary>
    /// Restricted API groups, Triton's <c>--http-restricted-api</c>: each <c>&lt;category&gt;[,...]:&lt;key&gt;=&lt;value&gt;</c>;
    /// a request to a listed category without header <c>key</c> set to <c>value</c> gets 403. Empty: nothing is restricted.
    /// </summary>
    public List<string> RestrictedApi { get; set; } = [];

    /// <summary>
    /// <c>--http-server-cert</c>: a PEM certificate; with <see cref="ServerKey"/>, REST and metrics are served over TLS,
    /// and a changed file is used for new connections without a restart.
    /// </summary>
    public string? ServerCertificate { get; set; }

    /// <summary><c>--http-server-key</c>: the PEM private key of <see cref="ServerCertificate"/>.</summary>
    public string? ServerKey { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that is out of range.</summary>
    public void Validate()
    {
        if (Port is < 0 or > 65535)
        {
            throw new ArgumentException(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Http:Port {Port} is not valid; expected 0 to 65535"));
        }
        if (MaxRequestBodyBytes < 1)
        {
            throw new ArgumentException(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Http:MaxRequestBodyBytes {MaxRequestBodyBytes} is not valid; expected 1 or more"));
        }
        if (string.IsNullOrEmpty(ServerCertificate) != string.IsNullOrEmpty(ServerKey))
        {
            throw new ArgumentException("HTTP TLS needs both Http:ServerCertificate and Http:ServerKey (PEM files)");
        }
    }
}
