using InferenceServer.Protocols.Access;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.ResponseCompression;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace InferenceServer.Protocols.Http;

/// <summary>
/// The REST front-end on its Kestrel endpoint: connections accepted there are marked, and their requests get response
/// compression (gzip, deflate) and a <c>{"error": ...}</c> body on every error, including the routing's own 404 and 405
/// and a 500 for a fault of the server's own, wherever in the pipeline it was thrown.
/// Requests on the other ports (metrics, gRPC) see none of it.
/// </summary>
public static class V2Http
{
    /// <summary>Registers response compression as the REST front-end uses it.</summary>
    public static IServiceCollection AddV2Http(this IServiceCollection services)
    {
        services.AddResponseCompression(options =>
        {
            // Triton's two; the order breaks ties between equal q-values.
            options.Providers.Add<GzipCompressionProvider>();
            options.Providers.Add<DeflateCompressionProvider>();
            // JSON, and the binary tensor extension's JSON header plus tensors.
            options.MimeTypes = ["application/json", "application/octet-stream"];
        });
        services.Replace(ServiceDescriptor.Singleton<IResponseCompressionProvider, V2ResponseCompressionProvider>());
        services.TryAddSingleton<ApiAccess>();
        return services;
    }

    /// <summary>
    /// Adds the REST middleware for marked connections and maps every <c>/v2</c> route. Throws
    /// <see cref="ArgumentException"/> when <c>--http-restricted-api</c> is malformed.
    /// </summary>
    public static TApp UseV2Http<TApp>(this TApp app) where TApp : IApplicationBuilder, IEndpointRouteBuilder
    {
        var restrictions = app.ApplicationServices.GetRequiredService<ApiAccess>().Rest;
        app.UseWhen(
            static context => context.ArrivedOn(ServerPort.Rest),
            rest =>
            {
                rest.UseExceptionHandler(new ExceptionHandlerOptions
                {
                    ExceptionHandler = WriteFaultAsync,
                    // WriteFaultAsync logs the fault, once, with the id the client is given; the middleware's line would be a second.
                    SuppressDiagnosticsCallback = static _ => true,
                });
                rest.UseStatusCodePages(WriteStatusBodyAsync);
                if (!restrictions.IsEmpty)
                {
                    // Routing has already chosen the endpoint, so its category is known here.
                    rest.Use((context, next) => Restrict(context, next, restrictions));
                }
                rest.UseResponseCompression();
            });
        app.MapV2Endpoints();
        return app;
    }

    /// <summary>
    /// 403 with an error body, unless the endpoint's category is open or the request carries its group's header; shared
    /// by the REST and metrics ports.
    /// </summary>
    internal static Task Restrict(HttpContext context, RequestDelegate next, ApiRestrictions restrictions)
    {
        var category = context.GetEndpoint()?.Metadata.GetMetadata<ApiCategory>();
        if (restrictions.For(category) is not { } restriction)
        {
            return next(context);
        }
        return restriction.Allows(context.Request.Headers)
            ? next(context)
            : HttpErrors.WriteAsync(context, StatusCodes.Status403Forbidden, restriction.Denial(category!));
    }

    // A fault of the server's own, wherever it was thrown: 500 with the correlation id in the body and a header, never
    // the exception's text, which is logged under that id (ServerFaults).
    private static Task WriteFaultAsync(HttpContext context)
    {
        var fault = context.Features.GetRequiredFeature<IExceptionHandlerFeature>().Error;
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(V2Http));
        var id = context.TraceIdentifier;
        var message = ServerFaults.Report(logger, id, $"{context.Request.Method} {context.Request.Path}", fault);
        return HttpErrors.WriteAsync(context, StatusCodes.Status500InternalServerError, message, (ServerFaults.IdHeader, id));
    }

    // An error status that left no body (no route, a wrong method, a handler that set only a status) gets one.
    private static Task WriteStatusBodyAsync(StatusCodeContext status)
    {
        var context = status.HttpContext;
        var request = context.Request;
        var code = context.Response.StatusCode;
        var message = code switch
        {
            StatusCodes.Status404NotFound => $"no endpoint {request.Method} {request.Path} on this server",
            StatusCodes.Status405MethodNotAllowed => $"method {request.Method} is not allowed on {request.Path}; allowed: {context.Response.Headers.Allow}",
            _ => ReasonPhrases.GetReasonPhrase(code),
        };
        return HttpErrors.WriteBodyAsync(context, message);
    }
}
