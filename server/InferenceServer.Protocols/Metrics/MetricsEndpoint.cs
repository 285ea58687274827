using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceServer.Protocols.Metrics;

/// <summary>
/// <c>GET /metrics</c> in the Prometheus text format, served on its own Kestrel endpoint (the
/// metrics port, 8002 by default, as Triton does) and nowhere else: connections accepted there are
/// marked, and their requests never reach the v2 routes.
/// </summary>
public static class MetricsEndpoint
{
    /// <summary>The path Prometheus scrapes.</summary>
    public const string Path = "/metrics";

    /// <summary>Registers the collector that aggregates the server's instruments for scraping.</summary>
    public static IServiceCollection AddPrometheusMetrics(this IServiceCollection services) =>
        services.AddSingleton<MetricsCollector>();

    /// <summary>Starts aggregating now, so series recorded while the models load are not missed.</summary>
    public static void StartCollecting(IServiceProvider services) => services.GetRequiredService<MetricsCollector>();

    /// <summary>Marks the connections of <paramref name="listen"/> as metrics connections.</summary>
    public static ListenOptions UseMetricsConnections(this ListenOptions listen)
    {
        listen.Use(next => connection =>
        {
            connection.Features.Set(MetricsConnectionFeature.Instance);
            return next(connection);
        });
        return listen;
    }

    /// <summary>Answers every request of a metrics connection: <c>/metrics</c>, or 404.</summary>
    public static IApplicationBuilder UseMetricsEndpoint(this IApplicationBuilder app) => app.Use((context, next) =>
        context.Features.Get<MetricsConnectionFeature>() is null ? next(context) : ServeAsync(context));

    private static async Task ServeAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        if (request.Path != Path)
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = "GET, HEAD";
            return;
        }
        var collector = context.RequestServices.GetRequiredService<MetricsCollector>();
        var text = new StringBuilder(16 * 1024);
        PrometheusTextWriter.Write(text, collector.Collect());
        var body = Encoding.UTF8.GetBytes(text.ToString());
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = PrometheusTextWriter.ContentType;
        response.ContentLength = body.Length;
        if (HttpMethods.IsGet(request.Method))
        {
            await response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
        }
    }
}
