using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace InferenceServer.Grpc;

/// <summary>Mounts a <see cref="GrpcServiceRegistry"/> in an ASP.NET Core pipeline.</summary>
public static class GrpcApplicationBuilderExtensions
{
    /// <summary>
    /// Adds middleware that serves the registry's methods. It answers a registered path itself (415, 405 or 426 for a
    /// request that is not gRPC over HTTP/2), answers any other gRPC request with UNIMPLEMENTED, and passes every
    /// other request on, so REST endpoints can share the port. Put it before routing. Kestrel must offer HTTP/2 on
    /// the endpoint (prior knowledge on plain text, or ALPN with TLS).
    /// </summary>
    public static IApplicationBuilder UseGrpc(this IApplicationBuilder app, GrpcServiceRegistry registry, GrpcServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var logger = app.ApplicationServices.GetService<ILoggerFactory>()?.CreateLogger("InferenceServer.Grpc") ?? NullLogger.Instance;
        registry.Freeze();
        var dispatcher = new GrpcDispatcher(registry, options ?? new GrpcServerOptions(), logger);
        return app.Use(next => context => dispatcher.InvokeAsync(context, next));
    }
}
