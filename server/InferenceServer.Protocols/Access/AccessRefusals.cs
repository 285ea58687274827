using System.Globalization;
using System.Threading.RateLimiting;
using Grpc.Core;
using InferenceServer.Protocols.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace InferenceServer.Protocols.Access;

/// <summary>
/// Answers every refused request, in the caller's protocol: REST 401 (with <c>WWW-Authenticate</c>), 403 or 429 (with
/// <c>Retry-After</c>) and an error body; gRPC UNAUTHENTICATED, PERMISSION_DENIED or RESOURCE_EXHAUSTED. Each refusal is
/// counted (<see cref="AccessMetrics"/>) and logged with the credential's name, never its secret. It is ASP.NET Core's
/// authorization result handler, and the rate limiter's rejection callback.
/// </summary>
internal sealed class AccessRefusals(ServerAccess access, AccessMetrics metrics, ILogger<AccessRefusals> logger) : IAuthorizationMiddlewareResultHandler
{
    private const string Realm = "Bearer realm=\"inference-server\"";

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Succeeded)
        {
            await next(context).ConfigureAwait(false);
            return;
        }
        // The policy fails only for a request with a scope it does not open.
        var scope = ServerAccess.ScopeOf(context)!;
        string reason;
        string message;
        string? challenge = null;
        if (authorizeResult.Forbidden)
        {
            reason = AccessMetrics.InsufficientScope;
            message = $"credential '{context.User.Identity?.Name}' does not have scope '{scope.Name}', which the {scope.Name} API needs";
            challenge = $"Bearer error=\"insufficient_scope\", scope=\"{scope.Name}\"";
        }
        else if (!access.CanBeGranted(scope))
        {
            reason = AccessMetrics.Closed;
            message = $"the {scope.Name} API is refused to everyone on this server: {access.ClosedReason(scope)}";
        }
        else
        {
            // Authenticating again returns the result the handler already computed for this request.
            var authentication = await context.AuthenticateAsync(ApiClaims.Scheme).ConfigureAwait(false);
            if (authentication.Failure is { } failure)
            {
                reason = AccessMetrics.InvalidCredential;
                message = $"the {scope.Name} API refused the credential: {failure.Message}";
                challenge = $"{Realm}, error=\"invalid_token\", scope=\"{scope.Name}\"";
            }
            else
            {
                reason = AccessMetrics.MissingCredential;
                message = $"the {scope.Name} API needs a credential with scope '{scope.Name}': send 'Authorization: Bearer <token>' or the '{access.ApiKeyHeader}' header"
                    + (access.ClientCertificates ? ", or a client certificate" : "");
                challenge = $"{Realm}, scope=\"{scope.Name}\"";
            }
        }
        await RefuseAsync(context, scope, reason, message, challenge).ConfigureAwait(false);
    }

    /// <summary>
    /// Without any credential configured, a scope that is not open is closed to everyone, and no authorization is
    /// registered to decide it: this middleware refuses such requests (403 or PERMISSION_DENIED, counted and logged as
    /// <see cref="HandleAsync"/> does) and passes the rest on.
    /// </summary>
    public Task RefuseClosedAsync(HttpContext context, RequestDelegate next)
    {
        if (ServerAccess.ScopeOf(context) is not { } scope || access.IsOpen(scope))
        {
            return next(context);
        }
        return RefuseAsync(context, scope, AccessMetrics.Closed, $"the {scope.Name} API is refused to everyone on this server: {access.ClosedReason(scope)}", null);
    }

    private Task RefuseAsync(HttpContext context, ApiScope scope, string reason, string message, string? challenge)
    {
        Count(context, scope.Name, reason);
        var unauthenticated = reason is AccessMetrics.MissingCredential or AccessMetrics.InvalidCredential;
        if (context.ArrivedOn(ServerPort.Grpc))
        {
            WriteGrpcStatus(context, unauthenticated ? StatusCode.Unauthenticated : StatusCode.PermissionDenied, message);
            return Task.CompletedTask;
        }
        return HttpErrors.WriteAsync(context, unauthenticated ? StatusCodes.Status401Unauthorized : StatusCodes.Status403Forbidden, message,
            challenge is null ? null : ("WWW-Authenticate", challenge));
    }

    /// <summary>The rate limiter's rejection: 429 with <c>Retry-After</c>, or RESOURCE_EXHAUSTED.</summary>
    public Task RateLimitedAsync(HttpContext context, RateLimitLease lease, TimeSpan period)
    {
        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : period;
        var seconds = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        var scope = ServerAccess.ScopeOf(context)?.Name ?? "none";
        Count(context, scope, AccessMetrics.RateLimited);
        var message = $"too many requests from this client; retry after {seconds} s";
        if (context.ArrivedOn(ServerPort.Grpc))
        {
            context.Response.Headers.RetryAfter = seconds;
            WriteGrpcStatus(context, StatusCode.ResourceExhausted, message);
            return Task.CompletedTask;
        }
        return HttpErrors.WriteAsync(context, StatusCodes.Status429TooManyRequests, message, ("Retry-After", seconds));
    }

    private void Count(HttpContext context, string scope, string reason)
    {
        metrics.Refused(scope, reason);
        var protocol = context.ArrivedOn(ServerPort.Grpc) ? "gRPC" : context.ArrivedOn(ServerPort.Metrics) ? "metrics" : "REST";
        AccessLog.Refused(logger, context.Request.Method, context.Request.Path.Value ?? "", context.Connection.RemoteIpAddress?.ToString() ?? "-", protocol, scope, reason,
            context.User.Identity?.Name ?? "none");
    }

    // A refusal before any message: the status rides in the response headers (gRPC's Trailers-Only form).
    private static void WriteGrpcStatus(HttpContext context, StatusCode code, string message)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)code).ToString(CultureInfo.InvariantCulture);
        // grpc-message is percent-encoded beyond printable ASCII; a certificate subject might need that, so anything
        // else is replaced rather than encoded.
        response.Headers["grpc-message"] = string.Create(message.Length, message, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = source[i] is >= ' ' and <= '~' and not '%' ? source[i] : '?';
            }
        });
    }
}
