using InferenceServer.Core.Devices;
using InferenceServer.Core.Drift;
using InferenceServer.Core.Features;
using InferenceServer.Core.Features.Sidecar;
using InferenceServer.Core.Lifecycle;
using InferenceServer.Core.Models;
using InferenceServer.Core.Monitoring;
using InferenceServer.Core.Routing;
using InferenceServer.Core.Scheduling;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace InferenceServer.Core.Serving;

/// <summary>Registers the serving core (front door, routing, registry, lifecycle, loader, metrics) on a service collection, with no transport.</summary>
public static class ServingServiceCollectionExtensions
{
    /// <summary>
    /// Everything behind <see cref="InferenceFrontDoor"/>, with <paramref name="options"/> for the repositories and the
    /// lifecycle. The caller adds the backends (<c>IModelBackend</c>) and a <see cref="ServerInfo"/>, when it wants
    /// another than the default.
    /// </summary>
    public static IServiceCollection AddInferenceServing(this IServiceCollection services, ModelLifecycleOptions options) =>
        services.AddSingleton(options).AddInferenceServing();

    /// <summary>
    /// As <see cref="AddInferenceServing(IServiceCollection, ModelLifecycleOptions)"/>, with the
    /// <see cref="ModelLifecycleOptions"/> registered by the caller (a host binds them from its configuration).
    /// </summary>
    public static IServiceCollection AddInferenceServing(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(_ => new ServerInfo());
        // The GPUs: none unless a host registers a reader (NVML) or a test a scripted device.
        services.TryAddSingleton<IGpuDevices>(NoGpuDevices.Instance);
        // Each server its own registry: several run in one test process, and prometheus-net's process-wide default
        // registry would mix their series (and add .NET process metrics that Triton does not expose).
        services.AddSingleton(_ => Metrics.NewCustomRegistry());
        services.AddSingleton<InferenceMetrics>();
        services.AddSingleton<HostMetrics>();
        services.AddSingleton<GpuMetrics>();
        // One rate limiter for every model of the server, so that their instances share the resources; none when
        // --rate-limit is off (the default), and then no scheduler touches it.
        services.TryAddSingleton(static sp => new RateLimiterHolder(sp.GetRequiredService<ModelLifecycleOptions>().CreateRateLimiter()));
        services.AddSingleton<ModelLoader>();
        services.AddSingleton<ModelRegistry>();
        services.AddSingleton<RoutingMetrics>();
        services.AddSingleton(sp => new RouteServices(sp.GetRequiredService<RoutingMetrics>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetService<Microsoft.Extensions.Logging.ILoggerFactory>()));
        services.TryAddSingleton<IRoutingPolicy, TrafficPolicy>();
        services.AddSingleton<ModelRouter>();
        services.AddSingleton<Residency.ModelResidency>();
        services.AddSingleton<ModelLifecycle>();
        services.AddSingleton<Residency.OnDemandLoads>();
        services.AddSingleton(static sp => new Residency.ResidencyMetrics(sp.GetRequiredService<CollectorRegistry>(), sp.GetRequiredService<ModelRegistry>(),
            sp.GetRequiredService<Residency.ModelResidency>(), sp.GetRequiredService<Residency.OnDemandLoads>()));
        services.AddSingleton<ServerReadiness>();
        services.AddSingleton<FeatureMetrics>();
        // The sidecar client exists only when a host registers its options with a socket path (--feature-sidecar).
        services.AddSingleton(static sp => sp.GetService<FeatureSidecarOptions>() is { Enabled: true } options
            ? new FeatureSidecarHolder(new SidecarClient(options, sp.GetRequiredService<TimeProvider>(), sp.GetService<ILogger<SidecarClient>>() ?? Microsoft.Extensions.Logging.Abstractions.NullLogger<SidecarClient>.Instance),
                sp.GetRequiredService<FeatureMetrics>())
            : new FeatureSidecarHolder(null, null));
        // Drift monitoring is on unless a host registers options that turn it off (--drift-monitoring false).
        services.AddSingleton(static sp => new DriftMonitors(sp.GetService<DriftOptions>() ?? new DriftOptions(), sp.GetRequiredService<CollectorRegistry>(),
            sp.GetService<ILogger<DriftMonitors>>()));
        services.AddSingleton(static sp => new FeatureStage(sp.GetRequiredService<FeatureSidecarHolder>().Client, sp.GetRequiredService<FeatureMetrics>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<DriftMonitors>() is { Options.Enabled: true } drift ? drift : null));
        services.AddSingleton(sp => new InferenceFrontDoor(sp.GetRequiredService<ModelRegistry>(), sp.GetRequiredService<ModelRouter>(), sp.GetRequiredService<RouteServices>(),
            sp.GetRequiredService<ModelLifecycle>(), sp.GetRequiredService<ServerReadiness>(), sp.GetRequiredService<ServerInfo>(), sp.GetRequiredService<FeatureStage>(),
            sp.GetRequiredService<Residency.OnDemandLoads>(), sp.GetRequiredService<Residency.ModelResidency>()));
        return services;
    }
}
