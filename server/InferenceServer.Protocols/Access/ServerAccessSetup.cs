using System.Threading.RateLimiting;
using InferenceServer.Protocols.Grpc;
using InferenceServer.Protocols.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace InferenceServer.Protocols.Access;

/// <summary>
/// Authentication, authorization, per-client rate limits and CORS, on ASP.NET Core's own middleware, for every port:
/// one authentication scheme (<see cref="ApiCredentialAuthenticationHandler"/>: tokens and client certificates), one
/// authorization policy reading each endpoint's category (<see cref="ApiScopeRequirement"/>), the partitioned rate
/// limiter, and the CORS middleware on the REST port. What is not configured is not registered, and costs a request
/// nothing.
/// </summary>
public static class ServerAccessSetup
{
    /// <summary>
    /// Registers the services; <see cref="AuthOptions"/>, <see cref="ClientRateLimitOptions"/> and
    /// <see cref="CrossOriginOptions"/> come from the host (sections <c>Auth</c>, <c>RateLimit</c>, <c>Cors</c>).
    /// <paramref name="auth"/>, <paramref name="http"/> and <paramref name="grpc"/> are those sections as bound before the
    /// host is built: they decide whether authentication and authorization are registered at all (see
    /// <see cref="ServerAccess.Needs"/>).
    /// </summary>
    public static IServiceCollection AddServerAccess(this IServiceCollection services, AuthOptions auth, HttpProtocolOptions http, GrpcProtocolOptions grpc)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<AccessMetrics>();
        services.TryAddSingleton<ServerAccess>();
        services.TryAddSingleton<ServerTls>();
        services.TryAddSingleton<AccessRefusals>();

        // WebApplication adds the authentication and authorization middleware to every request by itself whenever their
        // services are registered, and even with nothing to do they took about 7% of a refusal's CPU under overload.
        // They are registered only when a credential is configured; without one, a scope that is not open is closed to
        // everyone, which a plain check decides (AccessRefusals.RefuseClosedAsync, added by UseServerAccess).
        var (hasCredentials, enforcing) = ServerAccess.Needs(auth, http, grpc);
        if (hasCredentials)
        {
            services.AddAuthentication(ApiClaims.Scheme).AddScheme<AuthenticationSchemeOptions, ApiCredentialAuthenticationHandler>(ApiClaims.Scheme, null);
            // The handler logs each failed authentication at Information; AccessRefusals logs the refusal itself once.
            services.Configure<LoggerFilterOptions>(static o => o.AddFilter(typeof(ApiCredentialAuthenticationHandler).FullName, LogLevel.Warning));
        }
        if (hasCredentials && enforcing)
        {
            services.AddSingleton<IAuthorizationMiddlewareResultHandler>(static sp => sp.GetRequiredService<AccessRefusals>());
            services.AddSingleton<IAuthorizationHandler, ApiScopeAuthorizationHandler>();
            services.AddAuthorization();
            // The fallback policy covers every request, endpoint or not (the metrics port has none).
            services.AddOptions<AuthorizationOptions>().Configure(static o => o.FallbackPolicy = new AuthorizationPolicyBuilder().AddRequirements(ApiScopeRequirement.Instance).Build());
        }

        // The limiter itself is configured below, where the settings and the refusal writer can be injected.
        services.AddRateLimiter(static _ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<ClientRateLimitOptions>, AccessRefusals>(static (o, settings, refusals) =>
        {
            var limit = settings.Value;
            if (!limit.Enabled)
            {
                return;
            }
            var period = TimeSpan.FromSeconds(limit.PeriodSeconds);
            var bucket = new TokenBucketRateLimiterOptions
            {
                TokenLimit = limit.Requests,
                TokensPerPeriod = limit.Requests,
                ReplenishmentPeriod = period,
                QueueLimit = 0,
                AutoReplenishment = true,
            };
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, object>(context => Partition(context, bucket));
            o.OnRejected = (rejected, _) => new ValueTask(refusals.RateLimitedAsync(rejected.HttpContext, rejected.Lease, period));
        });

        services.AddCors();
        services.AddOptions<CorsOptions>().Configure<IOptions<CrossOriginOptions>, ServerAccess>(static (o, settings, access) =>
        {
            var cors = settings.Value;
            if (cors.Enabled)
            {
                o.AddDefaultPolicy(policy => Policy(policy, cors, access.ApiKeyHeader));
            }
        });
        return services;
    }

    /// <summary>
    /// Adds the middleware, after routing (the endpoint, and so its category, is known) and before every port's
    /// handling: CORS on the REST port (so a preflight needs no credential), authentication, the rate limiter (which
    /// partitions by the credential authenticated), authorization. Throws <see cref="ArgumentException"/> for a token
    /// file or TLS file that cannot be read.
    /// </summary>
    public static IApplicationBuilder UseServerAccess(this IApplicationBuilder app)
    {
        var services = app.ApplicationServices;
        // Resolved now, so a token file that cannot be read stops the start naming itself.
        services.GetRequiredService<ServerAccess>();
        if (services.GetRequiredService<IOptions<CrossOriginOptions>>().Value.Enabled)
        {
            app.UseWhen(static context => context.ArrivedOn(ServerPort.Rest), static rest => rest.UseCors());
        }
        // What AddServerAccess registered, it adds here, in this order; what it did not, WebApplication does not add either.
        var registered = services.GetRequiredService<IServiceProviderIsService>();
        if (registered.IsService(typeof(IAuthenticationSchemeProvider)))
        {
            app.UseAuthentication();
        }
        if (services.GetRequiredService<IOptions<ClientRateLimitOptions>>().Value.Enabled)
        {
            app.UseRateLimiter();
        }
        if (registered.IsService(typeof(IAuthorizationHandlerProvider)))
        {
            app.UseAuthorization();
        }
        else if (services.GetRequiredService<ServerAccess>().Enforcing)
        {
            app.Use(services.GetRequiredService<AccessRefusals>().RefuseClosedAsync);
        }
        return app;
    }

    private static readonly object Unlimited = new();
    private static readonly object NoAddress = new();

    // Per credential when there is one (a shared token is one client wherever it calls from), else per address. Health
    // probes and scrapes are exempt: an orchestrator must see a busy server as alive.
    private static RateLimitPartition<object> Partition(HttpContext context, TokenBucketRateLimiterOptions bucket)
    {
        var scope = ServerAccess.ScopeOf(context);
        if (scope == ApiScope.Health || scope == ApiScope.Metrics)
        {
            return RateLimitPartition.GetNoLimiter(Unlimited);
        }
        object key = context.User.Identity is { IsAuthenticated: true, Name: { } name } ? name : (object?)context.Connection.RemoteIpAddress ?? NoAddress;
        return RateLimitPartition.GetTokenBucketLimiter(key, _ => bucket);
    }

    private static void Policy(CorsPolicyBuilder policy, CrossOriginOptions cors, string apiKeyHeader)
    {
        if (cors.Origins.Contains("*"))
        {
            policy.AllowAnyOrigin();
        }
        else
        {
            policy.WithOrigins([.. cors.Origins]);
        }
        string[] methods = cors.Methods.Count > 0 ? [.. cors.Methods] : [HttpMethods.Get, HttpMethods.Post];
        policy.WithMethods(methods);
        if (cors.Headers.Contains("*"))
        {
            policy.AllowAnyHeader();
        }
        else
        {
            string[] headers = cors.Headers.Count > 0
                ? [.. cors.Headers]
                : ["Content-Type", "Content-Encoding", "Authorization", apiKeyHeader, InferenceHeaders.HeaderContentLength];
            policy.WithHeaders(headers);
        }
        // A browser reading a binary-tensor response needs this header to split JSON from tensors.
        policy.WithExposedHeaders(InferenceHeaders.HeaderContentLength, "Retry-After");
        policy.SetPreflightMaxAge(TimeSpan.FromSeconds(cors.MaxAgeSeconds));
    }
}
