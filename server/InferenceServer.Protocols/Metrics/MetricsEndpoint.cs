using InferenceServer.Protocols.Access;
using InferenceServer.Protocols.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;

namespace InferenceServer.Protocols.Metrics;

/// <summary>
/// <c>GET /metrics</c> in the Prometheus text format, served by prometheus-net's exporter from the server's own
/// registry on its own Kestrel endpoint (the metrics port, 8002 by default, as Triton does) and nowhere else:
/// connections accepted there are marked, and their requests never reach the v2 routes.
/// </summary>
public static class MetricsEndpoint
{
    /// <summary>The path Prometheus scrapes.</summary>
    public const string Path = "/metrics";

    /// <summary>
    /// Answers every request of a metrics connection: <c>GET</c>/<c>HEAD /metrics</c> from <paramref name="registry"/>,
    /// else 404 or 405; 403 when <c>--http-restricted-api</c> restricts <c>metrics</c> and the scrape lacks the header.
    /// </summary>
    public static IApplicationBuilder UseMetricsEndpoint(this IApplicationBuilder app, CollectorRegistry registry)
    {
        var restriction = app.ApplicationServices.GetRequiredService<ApiAccess>().Rest.For(ApiCategory.Metrics);
        return app.MapWhen(static context => context.ArrivedOn(ServerPort.Metrics), metrics =>
        {
            metrics.Use((context, next) =>
            {
                var request = context.Request;
                if (request.Path != Path)
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return Task.CompletedTask;
                }
                if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
                {
                    context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
                    context.Response.Headers.Allow = "GET, HEAD";
                    return Task.CompletedTask;
                }
                if (restriction is not null && !restriction.Allows(request.Headers))
                {
                    return HttpErrors.WriteAsync(context, StatusCodes.Status403Forbidden, restriction.Denial(ApiCategory.Metrics));
                }
                return next(context);
            });
            metrics.UseMetricServer(settings =>
            {
                settings.Registry = registry;
                // Triton answers in the Prometheus text format only. OpenMetrics, which a scraper may ask for, would
                // rename every counter with a _total suffix and break the dashboards that query Triton's names.
                settings.EnableOpenMetrics = false;
            }, url: null);
        });
    }
}
