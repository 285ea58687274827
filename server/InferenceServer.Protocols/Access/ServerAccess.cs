using System.Net;
using System.Security.Cryptography.X509Certificates;
using InferenceServer.Protocols.Grpc;
using InferenceServer.Protocols.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace InferenceServer.Protocols.Access;

/// <summary>
/// Who may call which scope, decided once from the <c>Auth</c> settings and the listen addresses, with the tokens of the
/// token file read again when it changes: the credentials (tokens, client certificate subjects), the scopes open to
/// anyone, and the scope of a request. The same decision serves REST, gRPC and <c>/metrics</c>.
/// </summary>
public sealed class ServerAccess : IDisposable
{
    private readonly ApiTokens _settingsTokens;
    private readonly ReloadingFile<ApiTokens>? _tokenFile;
    private readonly IReadOnlyList<(string Subject, ApiScopes Scopes)> _certificates;
    private readonly bool _clientCertificates;
    private readonly string? _tokenFilePath;
    private readonly ILogger _logger;

    /// <summary>Decides from the options; throws <see cref="ArgumentException"/> naming a setting that is wrong (a token file that cannot be read).</summary>
    public ServerAccess(IOptions<AuthOptions> auth, IOptions<HttpProtocolOptions> http, IOptions<GrpcProtocolOptions> grpc, ILogger<ServerAccess> logger, TimeProvider time)
    {
        var options = auth.Value;
        _logger = logger;
        _settingsTokens = options.ParseTokens();
        _certificates = options.ParseClientCertificates();
        _clientCertificates = !string.IsNullOrEmpty(options.ClientCertificateAuthority);
        ApiKeyHeader = options.ApiKeyHeader;
        if (options.TokenFile is { Length: > 0 } path)
        {
            _tokenFilePath = Path.GetFullPath(path);
            _tokenFile = new ReloadingFile<ApiTokens>($"token file '{_tokenFilePath}'", [_tokenFilePath], () => ReadTokenFile(_tokenFilePath), logger, time);
        }
        HasCredentials = HasCredentialsIn(options);
        LoopbackOnly = IsLoopbackOnly(http.Value, grpc.Value);
        Open = options.ParseOpenScopes() ?? DefaultOpen(HasCredentials, LoopbackOnly);
    }

    /// <summary>
    /// What the settings ask of requests, decided from them alone before the host is built: whether any credential is
    /// configured (so credentials are authenticated and scopes authorized by ASP.NET Core's middleware at all), and
    /// whether any scope is closed to a caller without one. A server without credentials registers neither service, and
    /// so runs neither middleware; its closed scopes are closed to everyone. Open scopes that do not parse count as
    /// closing something; they stop the start when the settings are validated.
    /// </summary>
    public static (bool HasCredentials, bool Enforcing) Needs(AuthOptions auth, HttpProtocolOptions http, GrpcProtocolOptions grpc)
    {
        var hasCredentials = HasCredentialsIn(auth);
        ApiScopes? open;
        try
        {
            open = auth.ParseOpenScopes();
        }
        catch (ArgumentException)
        {
            return (hasCredentials, true);
        }
        return (hasCredentials, (open ?? DefaultOpen(hasCredentials, IsLoopbackOnly(http, grpc))) != ApiScopes.Every);
    }

    /// <summary>Whether any credential is configured (a token, a token file, a client certificate subject).</summary>
    public bool HasCredentials { get; }

    /// <summary>Whether every endpoint that can reach the repository API (REST, gRPC) listens on a loopback address.</summary>
    public bool LoopbackOnly { get; }

    /// <summary>The scopes anyone may call without a credential.</summary>
    public ApiScopes Open { get; }

    /// <summary>Whether some scope needs a credential, so requests are checked at all.</summary>
    public bool Enforcing => Open != ApiScopes.Every;

    /// <summary>The header that may carry a token instead of <c>Authorization: Bearer</c>.</summary>
    public string ApiKeyHeader { get; }

    /// <summary>Whether client certificates are asked for (a client CA is configured).</summary>
    public bool ClientCertificates => _clientCertificates;

    /// <summary>
    /// The scopes open without a credential by default: with credentials configured, health (probes carry none); with
    /// none, everything but the repository API, which can load any model file and so stays closed unless only this
    /// machine can reach it.
    /// </summary>
    public static ApiScopes DefaultOpen(bool hasCredentials, bool loopbackOnly) =>
        hasCredentials ? ApiScopes.None.With(ApiScope.Health)
        : loopbackOnly ? ApiScopes.Every
        : ApiScopes.Every.Without(ApiScope.Repository);

    /// <summary>Whether <paramref name="scope"/> is open to anyone.</summary>
    public bool IsOpen(ApiScope scope) => Open.Contains(scope);

    /// <summary>The token (from the settings or the token file) whose secret is <paramref name="secret"/>; null when none is.</summary>
    public ApiToken? FindToken(string secret) => (_tokenFile?.Current ?? _settingsTokens).Find(secret);

    /// <summary>The scopes granted to <paramref name="certificate"/>'s subject (already validated against the client CA); null when it has none.</summary>
    public ApiScopes? FindCertificate(X509Certificate2 certificate)
    {
        var subject = certificate.SubjectName.Name;
        foreach (var (mapped, scopes) in _certificates)
        {
            if (string.Equals(mapped, subject, StringComparison.Ordinal))
            {
                return scopes;
            }
        }
        return null;
    }

    /// <summary>Whether any credential configured now holds <paramref name="scope"/>.</summary>
    public bool CanBeGranted(ApiScope scope)
    {
        foreach (var token in (_tokenFile?.Current ?? _settingsTokens).All)
        {
            if (token.Scopes.Contains(scope))
            {
                return true;
            }
        }
        foreach (var (_, scopes) in _certificates)
        {
            if (scopes.Contains(scope))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// The scope of the request: <c>metrics</c> on the metrics port, else that of the endpoint's category; null when
    /// the request reached no endpoint of its port (it gets 404, whoever asks).
    /// </summary>
    public static ApiScope? ScopeOf(HttpContext context)
    {
        if (context.ArrivedOn(ServerPort.Metrics))
        {
            return ApiScope.Metrics;
        }
        var endpoint = context.GetEndpoint();
        if (endpoint is null)
        {
            return null;
        }
        // The gRPC endpoints answer the gRPC port only, and it nothing else (GrpcPortGate); on the wrong port the
        // request is a 404 to be answered, not a scope to be checked.
        if ((endpoint.Metadata.GetMetadata<GrpcEndpointTag>() is not null) != context.ArrivedOn(ServerPort.Grpc))
        {
            return null;
        }
        return endpoint.Metadata.GetMetadata<ApiCategory>() is { } category ? ApiScope.Of(category) : null;
    }

    /// <summary>Why nobody can call <paramref name="scope"/> now, and what would change that.</summary>
    public string ClosedReason(ApiScope scope) =>
        !HasCredentials && scope == ApiScope.Repository && !LoopbackOnly
            ? "the server listens beyond loopback and no credential has scope 'repository'; configure a token with that scope "
              + "(--auth-token, --auth-token-file), listen on 127.0.0.1 only, or open it with --auth-open-scopes"
            : $"no credential configured has scope '{scope.Name}' and --auth-open-scopes does not open it";

    /// <summary>Logs, one line per scope, who may call it: the startup log's account of access.</summary>
    public void LogSummary()
    {
        var tokens = _tokenFile?.Current ?? _settingsTokens;
        foreach (var scope in ApiScope.All)
        {
            var categories = string.Join(", ", scope.Categories);
            if (IsOpen(scope))
            {
                AccessLog.ScopeAccess(_logger, scope.Name, categories, HasCredentials ? "open to anyone" : "open to anyone (no credential is configured)");
                continue;
            }
            var holders = new List<string>();
            foreach (var token in tokens.All)
            {
                if (token.Scopes.Contains(scope))
                {
                    holders.Add($"token '{token.Name}'");
                }
            }
            foreach (var (subject, scopes) in _certificates)
            {
                if (scopes.Contains(scope))
                {
                    holders.Add($"client certificate '{subject}'");
                }
            }
            if (_tokenFilePath is not null)
            {
                holders.Add($"tokens of {_tokenFilePath} with this scope");
            }
            AccessLog.ScopeAccess(_logger, scope.Name, categories, holders.Count > 0 ? "credentials only: " + string.Join(", ", holders) : "refused to everyone: " + ClosedReason(scope));
        }
    }

    /// <inheritdoc />
    public void Dispose() => _tokenFile?.Dispose();

    private ApiTokens ReadTokenFile(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"cannot read the token file '{path}' (Auth:TokenFile): {e.Message}", e);
        }
        var entries = new List<string>(lines.Length);
        var numbers = new List<int>(lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var comment = line.IndexOf('#', StringComparison.Ordinal);
            line = (comment < 0 ? line : line[..comment]).Trim();
            if (line.Length > 0)
            {
                entries.Add(line);
                numbers.Add(i + 1);
            }
        }
        return ApiTokens.Parse(entries, i => $"token file '{path}' line {numbers[i]}", _settingsTokens);
    }

    private static bool HasCredentialsIn(AuthOptions options) =>
        options.Tokens.Count > 0 || !string.IsNullOrEmpty(options.TokenFile) || options.ClientCertificates.Count > 0;

    private static bool IsLoopbackOnly(HttpProtocolOptions http, GrpcProtocolOptions grpc) =>
        (!http.Enabled || IsLoopback(http.Address)) && (!grpc.Enabled || IsLoopback(grpc.Address ?? http.Address));

    private static bool IsLoopback(string address) =>
        address == "localhost" || (IPAddress.TryParse(address, out var parsed) && IPAddress.IsLoopback(parsed));
}
