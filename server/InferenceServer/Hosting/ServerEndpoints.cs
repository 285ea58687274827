using System.Net;
using System.Net.Sockets;
using InferenceServer.Protocols;
using InferenceServer.Protocols.Access;
using InferenceServer.Protocols.Grpc;
using InferenceServer.Protocols.Http;
using InferenceServer.Protocols.Metrics;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace InferenceServer.Hosting;

/// <summary>
/// The server's Kestrel endpoints, planned from the <c>Http</c>, <c>Grpc</c> and <c>Metrics</c> options (and checked
/// across them: ports of their own, something to serve); after start, the bound ports. TLS, where configured, comes
/// from <see cref="ServerTls"/>, which reads the certificates again when their files change.
/// </summary>
internal sealed class ServerEndpoints
{
    private readonly IPEndPoint? _http;
    private readonly IPEndPoint? _grpc;
    private readonly IPEndPoint? _metrics;
    private readonly ServerTls _tls;
    private readonly long _maxRequestBodyBytes;

    /// <summary>Plans the endpoints; throws <see cref="ArgumentException"/> naming the setting that is wrong.</summary>
    public ServerEndpoints(IOptions<HttpProtocolOptions> httpOptions, IOptions<GrpcProtocolOptions> grpcOptions, IOptions<MetricsOptions> metricsOptions, ServerTls tls)
    {
        _tls = tls;
        var http = httpOptions.Value;
        var grpc = grpcOptions.Value;
        var metrics = metricsOptions.Value;
        _maxRequestBodyBytes = http.MaxRequestBodyBytes;
        var httpAddress = ParseAddress(http.Address, "Http:Address");
        _http = http.Enabled ? new IPEndPoint(httpAddress, http.Port) : null;
        // As in Triton, the metrics and gRPC endpoints bind the HTTP address unless told otherwise.
        _metrics = metrics.Enabled ? new IPEndPoint(ParseAddress(metrics.Address ?? http.Address, "Metrics:Address"), metrics.Port) : null;
        if (_http is not null && _metrics is not null && metrics.Port != 0 && metrics.Port == http.Port)
        {
            throw new ArgumentException($"Metrics:Port and Http:Port are both {http.Port}; the metrics endpoint needs a port of its own");
        }
        if (grpc.Enabled)
        {
            if (grpc.Port != 0 && ((_http is not null && grpc.Port == http.Port) || (_metrics is not null && grpc.Port == metrics.Port)))
            {
                throw new ArgumentException($"Grpc:Port {grpc.Port} is also the HTTP or metrics port; the gRPC endpoint needs a port of its own");
            }
            _grpc = new IPEndPoint(ParseAddress(grpc.Address ?? http.Address, "Grpc:Address"), grpc.Port);
        }
        if (_http is null && _metrics is null && _grpc is null)
        {
            throw new ArgumentException("HTTP, gRPC and metrics are all switched off (--allow-http, --allow-grpc, --allow-metrics); there is nothing to serve");
        }
    }

    public bool HttpEnabled => _http is not null;

    public bool MetricsEnabled => _metrics is not null;

    public bool GrpcTls => _tls.GrpcTls;

    /// <summary>Whether REST and metrics are served over TLS (<c>--http-server-cert</c>).</summary>
    public bool HttpTls => _tls.HttpTls;

    /// <summary>The REST endpoint once Kestrel has it (it writes the bound port back); null when off.</summary>
    public ListenOptions? Http { get; private set; }

    public ListenOptions? Metrics { get; private set; }

    public ListenOptions? Grpc { get; private set; }

    /// <summary>Adds the endpoints to Kestrel, each marked with what it serves.</summary>
    public void Configure(KestrelServerOptions kestrel)
    {
        kestrel.AddServerHeader = false;
        kestrel.Limits.MaxRequestBodySize = _maxRequestBodyBytes;
        if (_http is not null)
        {
            kestrel.Listen(_http, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                if (_tls.HttpTls)
                {
                    listen.UseHttps(_tls.HttpHttpsOptions());
                }
                listen.MarkAs(ServerPort.Rest);
                Http = listen;
            });
        }
        if (_metrics is not null)
        {
            kestrel.Listen(_metrics, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                // Metrics share the REST certificate: one endpoint's clients, one server identity.
                if (_tls.HttpTls)
                {
                    listen.UseHttps(_tls.HttpHttpsOptions());
                }
                listen.MarkAs(ServerPort.Metrics);
                Metrics = listen;
            });
        }
        if (_grpc is not null)
        {
            kestrel.Listen(_grpc, listen =>
            {
                // Cleartext gRPC is HTTP/2 with prior knowledge; with TLS, ALPN negotiates h2.
                listen.Protocols = HttpProtocols.Http2;
                if (_tls.GrpcTls)
                {
                    listen.UseHttps(_tls.GrpcHttpsOptions());
                }
                listen.MarkAs(ServerPort.Grpc);
                Grpc = listen;
            });
        }
    }

    /// <summary>The first endpoint whose port another process listens on, e.g. "HTTP port 8000"; null when every one is free.</summary>
    public string? FindTakenPort()
    {
        foreach (var (name, endpoint) in (ReadOnlySpan<(string, IPEndPoint?)>)[("HTTP", _http), ("gRPC", _grpc), ("metrics", _metrics)])
        {
            if (endpoint is { Port: > 0 } && IsTaken(endpoint))
            {
                return $"{name} port {endpoint.Port}";
            }
        }
        return null;
    }

    private static bool IsTaken(IPEndPoint endpoint)
    {
        using var probe = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            probe.Bind(endpoint);
            return false;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            return true;
        }
        catch (SocketException)
        {
            // Not ours to judge (an address this host does not have, ...): Kestrel's bind reports it.
            return false;
        }
    }

    private static IPAddress ParseAddress(string text, string key) => text switch
    {
        "localhost" => IPAddress.Loopback,
        _ when IPAddress.TryParse(text, out var address) => address,
        _ => throw new ArgumentException($"{key} '{text}' is not an IP address"),
    };
}
