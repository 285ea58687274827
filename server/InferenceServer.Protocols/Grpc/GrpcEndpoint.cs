using System.IO.Compression;
using Grpc.AspNetCore.Server;
using Grpc.AspNetCore.Server.Model;
using Grpc.Net.Compression;
using InferenceServer.Protocols.Access;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// The gRPC front-end, served by Grpc.AspNetCore on its own Kestrel endpoint (the gRPC port, 8001 by default, as in
/// Triton): <c>inference.GRPCInferenceService</c>, <c>inference_server.routing.RouteService</c> (a route's feedback,
/// experiment and rollout), <c>grpc.health.v1.Health</c> (Grpc.AspNetCore.HealthChecks, SERVING
/// exactly when the server is ready) and server reflection (Grpc.AspNetCore.Server.Reflection), so a client can list
/// and call the service without the .proto files.
/// </summary>
public static class GrpcEndpoint
{
    /// <summary>
    /// Registers the services; <see cref="GrpcProtocolOptions"/> come from configuration section <c>Grpc</c>, and the host
    /// registers the <see cref="Buffers.RequestBodyBudget"/> the calls' messages count in.
    /// </summary>
    public static IServiceCollection AddInferenceGrpc(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<InferenceGrpcService>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IServiceMethodProvider<InferenceGrpcService>, InferenceGrpcMethodProvider>());
        services.AddSingleton<RouteGrpcService>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IServiceMethodProvider<RouteGrpcService>, RouteGrpcMethodProvider>());
        services.TryAddSingleton<ApiAccess>();
        services.AddSingleton<RestrictedProtocolInterceptor>();
        services.AddGrpc();
        // After AddGrpc, so these settings come after the library's defaults.
        services.AddOptions<GrpcServiceOptions>().Configure<IOptions<GrpcProtocolOptions>, ApiAccess>(static (grpc, settings, access) =>
        {
            Apply(grpc, settings.Value);
            if (!access.Grpc.IsEmpty)
            {
                grpc.Interceptors.Add<RestrictedProtocolInterceptor>();
            }
        });
        services.AddGrpcHealthChecks(health => health.Services.Map(InferenceGrpcService.ServiceName, static _ => true))
            .AddCheck<ReadinessHealthCheck>(ReadinessHealthCheck.Name);
        services.AddGrpcReflection();
        return services;
    }

    /// <summary>
    /// Log levels for the libraries' categories: Grpc.AspNetCore logs every call that ends with an error status, and
    /// every call a client cancels (with a stack trace), at Information; our own methods log those at Debug
    /// (<see cref="GrpcLog"/>) and their faults at Error. The health-check service logs a probe that finds the server
    /// not ready yet as an error; that is an answer, not a fault. Configuration (<c>Logging:LogLevel</c>) can still
    /// override both.
    /// </summary>
    public static ILoggingBuilder AddInferenceGrpcLogFilters(this ILoggingBuilder logging)
    {
        logging.AddFilter("Grpc.AspNetCore.Server.ServerCallHandler", LogLevel.Warning);
        logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks.DefaultHealthCheckService", LogLevel.Critical);
        return logging;
    }

    /// <summary>
    /// Maps the gRPC services and keeps them to the gRPC port (<see cref="GrpcPortGate"/>). Throws
    /// <see cref="ArgumentException"/> for a malformed restricted-protocol setting; the host checks the rest of
    /// <see cref="GrpcProtocolOptions"/> when it binds them.
    /// </summary>
    public static WebApplication MapInferenceGrpc(this WebApplication app)
    {
        // Parsed now, so a malformed --grpc-restricted-protocol stops the start naming itself.
        app.Services.GetRequiredService<ApiAccess>();
        app.UseMiddleware<GrpcPortGate>();
        app.MapGrpcService<InferenceGrpcService>().WithMetadata(GrpcEndpointTag.Instance);
        app.MapGrpcService<RouteGrpcService>().WithMetadata(GrpcEndpointTag.Instance);
        // Categories: our services' methods carry theirs (InferenceGrpcMethodProvider); the libraries' services one each.
        app.MapGrpcHealthChecksService().WithMetadata(GrpcEndpointTag.Instance, ApiCategory.Health);
        app.MapGrpcReflectionService().WithMetadata(GrpcEndpointTag.Instance, ApiCategory.Metadata);
        return app;
    }

    private static void Apply(GrpcServiceOptions grpc, GrpcProtocolOptions settings)
    {
        grpc.MaxReceiveMessageSize = settings.MaxReceiveMessageBytes;
        // Our marshallers check the send limit first, with an error that names it; this covers the libraries' services.
        grpc.MaxSendMessageSize = settings.MaxSendMessageBytes == int.MaxValue ? null : settings.MaxSendMessageBytes;
        grpc.EnableDetailedErrors = false;
        grpc.ResponseCompressionAlgorithm = string.IsNullOrEmpty(settings.ResponseCompression) ? null : settings.ResponseCompression;
        grpc.ResponseCompressionLevel = CompressionLevel.Fastest;
        // Triton's gRPC runtime takes identity, gzip and deflate (zlib framing, RFC 1950). Requests in either are
        // inflated before the library sees them, within the receive limit (BudgetedMessageReader); the providers
        // compress responses and name the encodings the server accepts.
        grpc.CompressionProviders.Clear();
        grpc.CompressionProviders.Add(new GzipCompressionProvider(CompressionLevel.Fastest));
        grpc.CompressionProviders.Add(new DeflateCompressionProvider(CompressionLevel.Fastest));
    }
}
