using System.Globalization;
using System.Security.Cryptography.X509Certificates;

namespace InferenceServer.Protocols.Access;

/// <summary>
/// Who may call what (configuration section <c>Auth</c>): tokens (hashed) and client certificate subjects, each with
/// scopes, and the scopes open to anyone. With no credential configured, every scope is open except
/// <c>repository</c>, which is open only while the server listens on loopback alone.
/// </summary>
public sealed class AuthOptions
{
    /// <summary>The API-key header's default name.</summary>
    public const string DefaultApiKeyHeader = "X-API-Key";

    /// <summary>
    /// <c>--auth-token</c>: tokens, each <c>name:sha256-hex:scope[,scope...]</c> (the SHA-256 of the secret, never the
    /// secret). A request presents the secret as <c>Authorization: Bearer &lt;secret&gt;</c> or in <see cref="ApiKeyHeader"/>.
    /// </summary>
    public List<string> Tokens { get; set; } = [];

    /// <summary>
    /// <c>--auth-token-file</c>: a file of more tokens, one entry per line as in <see cref="Tokens"/> (<c>#</c> starts a
    /// comment), read again whenever it changes; a version that does not parse is logged and the previous one kept.
    /// </summary>
    public string? TokenFile { get; set; }

    /// <summary>
    /// <c>--auth-open-scopes</c>: scopes anyone may call without a credential, comma-separated, <c>*</c> or <c>none</c>.
    /// Unset (or <c>auto</c>): <c>health</c> when a credential is configured (Kubernetes probes carry none); with none configured, every
    /// scope but <c>repository</c> (and that too when the server listens on loopback only).
    /// </summary>
    public string? OpenScopes { get; set; }

    /// <summary><c>--auth-api-key-header</c>: the header that may carry a token instead of <c>Authorization: Bearer</c>.</summary>
    public string ApiKeyHeader { get; set; } = DefaultApiKeyHeader;

    /// <summary>
    /// <c>--auth-client-ca</c>: a PEM file of the CA certificates that issue client certificates. Set, the TLS endpoints
    /// ask for a client certificate and refuse the handshake for one this CA did not issue; reloaded when it changes.
    /// </summary>
    public string? ClientCertificateAuthority { get; set; }

    /// <summary>Client certificate subjects and their scopes (needs <see cref="ClientCertificateAuthority"/>).</summary>
    public List<ClientCertificateScopes> ClientCertificates { get; set; } = [];

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that is wrong.</summary>
    public void Validate()
    {
        ParseTokens();
        ParseOpenScopes();
        if (ApiKeyHeader.Length == 0 || ApiKeyHeader.AsSpan().IndexOfAny(" \t\r\n:()<>@,;\"/[]?={}") >= 0)
        {
            throw new ArgumentException($"Auth:ApiKeyHeader '{ApiKeyHeader}' is not a header name");
        }
        if (TokenFile is { Length: 0 })
        {
            TokenFile = null;
        }
        if (string.IsNullOrEmpty(ClientCertificateAuthority) && ClientCertificates.Count > 0)
        {
            throw new ArgumentException("Auth:ClientCertificates needs Auth:ClientCertificateAuthority (--auth-client-ca), the CA that issues the client certificates");
        }
        ParseClientCertificates();
    }

    /// <summary>The tokens of <see cref="Tokens"/>.</summary>
    public ApiTokens ParseTokens() =>
        ApiTokens.Parse(Tokens, static i => string.Create(CultureInfo.InvariantCulture, $"Auth:Tokens:{i}"));

    /// <summary>The scopes of <see cref="OpenScopes"/>; null when it is unset (the defaults apply).</summary>
    public ApiScopes? ParseOpenScopes() => OpenScopes is null || OpenScopes.Trim() == "auto" ? null : ApiScopes.Parse(OpenScopes, "Auth:OpenScopes");

    /// <summary>The subjects of <see cref="ClientCertificates"/>, normalised as X.500 names, with their scopes.</summary>
    public IReadOnlyList<(string Subject, ApiScopes Scopes)> ParseClientCertificates()
    {
        var mappings = new List<(string, ApiScopes)>(ClientCertificates.Count);
        for (var i = 0; i < ClientCertificates.Count; i++)
        {
            var where = string.Create(CultureInfo.InvariantCulture, $"Auth:ClientCertificates:{i}");
            var mapping = ClientCertificates[i];
            string subject;
            try
            {
                subject = new X500DistinguishedName(mapping.Subject).Name;
            }
            catch (System.Security.Cryptography.CryptographicException)
            {
                throw new ArgumentException($"{where}:Subject '{mapping.Subject}' is not a distinguished name; expected e.g. 'CN=client, O=Example'");
            }
            if (subject.Length == 0)
            {
                throw new ArgumentException($"{where}:Subject is empty; expected a distinguished name, e.g. 'CN=client, O=Example'");
            }
            var scopes = ApiScopes.Parse(mapping.Scopes, $"{where}:Scopes");
            if (scopes.IsEmpty)
            {
                throw new ArgumentException($"{where}:Scopes grants no scope; expected at least one of {ApiScopes.Names(ApiScopes.Every)} or '*'");
            }
            mappings.Add((subject, scopes));
        }
        return mappings;
    }
}
