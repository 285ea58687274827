using InferenceServer.Grpc;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// The gRPC front-end on its own Kestrel endpoint (the gRPC port, 8001 by default, as in Triton): connections accepted
/// there are marked, and their requests go to <c>inference.GRPCInferenceService</c> and <c>grpc.health.v1.Health</c>
/// and nowhere else.
/// </summary>
public static class GrpcEndpoint
{
    /// <summary>Registers the services and binds <see cref="GrpcProtocolOptions"/> from configuration section <c>Grpc</c>.</summary>
    public static IServiceCollection AddInferenceGrpc(this IServiceCollection services)
    {
        services.AddSingleton<InferenceGrpcService>();
        services.AddSingleton<HealthGrpcService>();
        return services;
    }

    /// <summary>Marks the connections of <paramref name="listen"/> as gRPC connections.</summary>
    public static ListenOptions UseGrpcConnections(this ListenOptions listen)
    {
        listen.Use(next => connection =>
        {
            connection.Features.Set(GrpcConnectionFeature.Instance);
            return next(connection);
        });
        return listen;
    }

    /// <summary>Answers every request of a gRPC connection; other requests pass on. Put it before routing.</summary>
    public static IApplicationBuilder UseInferenceGrpc(this IApplicationBuilder app)
    {
        var services = app.ApplicationServices;
        var settings = services.GetRequiredService<IOptions<GrpcProtocolOptions>>().Value;
        var registry = new GrpcServiceRegistry();
        services.GetRequiredService<InferenceGrpcService>().Register(registry);
        services.GetRequiredService<HealthGrpcService>().Register(registry);
        if (!string.IsNullOrEmpty(settings.ResponseCompression) && settings.ResponseCompression != "gzip")
        {
            throw new ArgumentException($"Grpc:ResponseCompression '{settings.ResponseCompression}' is not supported; use gzip or leave it empty");
        }
        var options = new GrpcServerOptions
        {
            MaxReceiveMessageSize = settings.MaxReceiveMessageBytes,
            MaxSendMessageSize = settings.MaxSendMessageBytes,
            ResponseCompression = string.IsNullOrEmpty(settings.ResponseCompression) ? null : settings.ResponseCompression,
        };
        return app.MapWhen(
            context => context.Features.Get<GrpcConnectionFeature>() is not null,
            grpc => grpc.UseGrpc(registry, options).Run(NotGrpcAsync));
    }

    // A plain HTTP request that reached the gRPC port.
    private static Task NotGrpcAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }
}
