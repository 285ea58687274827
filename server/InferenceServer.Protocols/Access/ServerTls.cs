using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using InferenceServer.Protocols.Grpc;
using InferenceServer.Protocols.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace InferenceServer.Protocols.Access;

/// <summary>
/// The TLS material of the server's endpoints, each read from PEM files and read again when they change, so a renewed
/// certificate serves new connections without a restart (<see cref="ReloadingFile{T}"/>): the REST certificate (which
/// the metrics endpoint shares), the gRPC certificate, and the client CA that mutual TLS checks client certificates
/// against. One mechanism for every endpoint: Kestrel asks <see cref="HttpsOptions"/>' selector for the certificate at
/// each handshake.
/// </summary>
public sealed class ServerTls : IDisposable
{
    private readonly ReloadingFile<X509Certificate2>? _http;
    private readonly ReloadingFile<X509Certificate2>? _grpc;
    private readonly ReloadingFile<X509Certificate2Collection>? _clientCa;
    private readonly AccessMetrics _metrics;
    private readonly ILogger _logger;

    /// <summary>Reads the configured files; throws <see cref="ArgumentException"/> naming one that cannot be read.</summary>
    public ServerTls(IOptions<HttpProtocolOptions> http, IOptions<GrpcProtocolOptions> grpc, IOptions<AuthOptions> auth, AccessMetrics metrics, ILogger<ServerTls> logger,
        TimeProvider time)
    {
        _metrics = metrics;
        _logger = logger;
        var rest = http.Value;
        var rpc = grpc.Value;
        if (!string.IsNullOrEmpty(rest.ServerCertificate))
        {
            _http = Certificate("HTTP", rest.ServerCertificate, rest.ServerKey!, logger, time);
        }
        if (rpc.Enabled && !string.IsNullOrEmpty(rpc.ServerCertificate))
        {
            _grpc = Certificate("gRPC", rpc.ServerCertificate, rpc.ServerKey!, logger, time);
        }
        if (auth.Value.ClientCertificateAuthority is { Length: > 0 } ca)
        {
            if (_http is null && _grpc is null)
            {
                throw new ArgumentException("Auth:ClientCertificateAuthority (--auth-client-ca) needs TLS: set --http-server-cert/--http-server-key or --grpc-server-cert/--grpc-server-key");
            }
            _clientCa = new ReloadingFile<X509Certificate2Collection>($"client CA '{ca}'", [ca], () => ReadAuthorities(ca), logger, time);
        }
    }

    /// <summary>Whether REST (and metrics) are served over TLS.</summary>
    public bool HttpTls => _http is not null;

    /// <summary>Whether gRPC is served over TLS.</summary>
    public bool GrpcTls => _grpc is not null;

    /// <summary>The certificate REST and metrics present now; null without TLS.</summary>
    public X509Certificate2? HttpCertificate => _http?.Current;

    /// <summary>The certificate gRPC presents now; null without TLS.</summary>
    public X509Certificate2? GrpcCertificate => _grpc?.Current;

    /// <summary>Kestrel's HTTPS settings for the REST and metrics endpoints; only when <see cref="HttpTls"/>.</summary>
    public HttpsConnectionAdapterOptions HttpHttpsOptions() => HttpsOptions(_http ?? throw new InvalidOperationException("REST is not served over TLS"));

    /// <summary>Kestrel's HTTPS settings for the gRPC endpoint; only when <see cref="GrpcTls"/>.</summary>
    public HttpsConnectionAdapterOptions GrpcHttpsOptions() => HttpsOptions(_grpc ?? throw new InvalidOperationException("gRPC is not served over TLS"));

    private HttpsConnectionAdapterOptions HttpsOptions(ReloadingFile<X509Certificate2> certificate)
    {
        var options = new HttpsConnectionAdapterOptions { ServerCertificateSelector = (_, _) => certificate.Current };
        if (_clientCa is not null)
        {
            // Asked for, not required: a client may still authenticate with a token. One it sends must be the CA's.
            options.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
            options.ClientCertificateValidation = (client, _, _) => IssuedByClientCa(client);
        }
        return options;
    }

    private bool IssuedByClientCa(X509Certificate2 client)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_clientCa!.Current);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid("1.3.6.1.5.5.7.3.2"));
        var trusted = chain.Build(client);
        if (!trusted)
        {
            _metrics.Refused("connection", AccessMetrics.UntrustedCertificate);
            var status = chain.ChainStatus.Length > 0 ? chain.ChainStatus[0].StatusInformation.Trim() : "no chain";
            AccessLog.UntrustedClientCertificate(_logger, client.SubjectName.Name, status);
        }
        return trusted;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _http?.Dispose();
        _grpc?.Dispose();
        _clientCa?.Dispose();
    }

    private static ReloadingFile<X509Certificate2> Certificate(string endpoint, string certificate, string key, ILogger logger, TimeProvider time) =>
        new($"{endpoint} TLS certificate '{certificate}'", [certificate, key], () => ReadCertificate(endpoint, certificate, key), logger, time);

    private static X509Certificate2 ReadCertificate(string endpoint, string certificate, string key)
    {
        try
        {
            return X509Certificate2.CreateFromPemFile(certificate, key);
        }
        catch (Exception e) when (e is IOException or CryptographicException or UnauthorizedAccessException or ArgumentException)
        {
            throw new ArgumentException($"cannot read the {endpoint} TLS certificate '{certificate}' with key '{key}': {e.Message}", e);
        }
    }

    private static X509Certificate2Collection ReadAuthorities(string path)
    {
        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is IOException or CryptographicException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"cannot read the client CA '{path}' (Auth:ClientCertificateAuthority): {e.Message}", e);
        }
        if (authorities.Count == 0)
        {
            throw new ArgumentException($"the client CA '{path}' (Auth:ClientCertificateAuthority) holds no PEM certificate");
        }
        return authorities;
    }
}
