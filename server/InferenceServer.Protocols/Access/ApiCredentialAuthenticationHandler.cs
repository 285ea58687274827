using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace InferenceServer.Protocols.Access;

/// <summary>
/// Authenticates a request (REST, gRPC, metrics alike: gRPC metadata are HTTP/2 headers) by its token, sent as
/// <c>Authorization: Bearer &lt;token&gt;</c> or in the API-key header, else by its TLS client certificate (which Kestrel
/// has already checked against the client CA). The result carries the credential's name and one claim per scope.
/// Whether the scope suffices is the authorization policy's question (<see cref="ApiScopeAuthorizationHandler"/>).
/// </summary>
internal sealed class ApiCredentialAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ServerAccess access)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    private const string Bearer = "Bearer ";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var headers = Request.Headers;
        var authorization = headers.Authorization;
        string? secret = null;
        if (authorization.Count > 0)
        {
            var value = authorization.Count == 1 ? authorization[0] : null;
            if (value is null || !value.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase))
            {
                return Task.FromResult(AuthenticateResult.Fail("the Authorization header must be one 'Bearer <token>'"));
            }
            secret = value[Bearer.Length..].Trim();
        }
        else if (headers.TryGetValue(access.ApiKeyHeader, out var key))
        {
            if (key.Count != 1)
            {
                return Task.FromResult(AuthenticateResult.Fail($"the {access.ApiKeyHeader} header must be given once"));
            }
            secret = key[0]!.Trim();
        }
        if (secret is not null)
        {
            return Task.FromResult(access.FindToken(secret) is { } token
                ? Success(token.Name, token.Scopes)
                : AuthenticateResult.Fail("the token is not one this server knows"));
        }
        if (Context.Connection.ClientCertificate is { } certificate && access.FindCertificate(certificate) is { } scopes)
        {
            return Task.FromResult(Success(certificate.SubjectName.Name, scopes));
        }
        return Task.FromResult(AuthenticateResult.NoResult());
    }

    private AuthenticateResult Success(string name, ApiScopes scopes)
    {
        var claims = new List<Claim>(ApiScope.All.Count + 1) { new(ClaimTypes.Name, name) };
        foreach (var scope in ApiScope.All)
        {
            if (scopes.Contains(scope))
            {
                claims.Add(new Claim(ApiClaims.Scope, scope.Name));
            }
        }
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme.Name)), Scheme.Name));
    }
}
