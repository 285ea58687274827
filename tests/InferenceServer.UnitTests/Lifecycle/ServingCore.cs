using InferenceServer.Core.Backends;
using InferenceServer.Core.Lifecycle;
using InferenceServer.Core.Models;
using InferenceServer.Core.Routing;
using InferenceServer.Core.Serving;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceServer.UnitTests.Lifecycle;

/// <summary>The serving core as the server composes it (<see cref="ServingServiceCollectionExtensions.AddInferenceServing"/>), over one backend, without a transport.</summary>
internal sealed class ServingCore : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    public ServingCore(IModelBackend backend, ModelLifecycleOptions options)
    {
        _services = new ServiceCollection()
            .AddLogging()
            .AddSingleton(backend)
            .AddInferenceServing(options)
            .BuildServiceProvider();
    }

    public InferenceFrontDoor Door => _services.GetRequiredService<InferenceFrontDoor>();

    public ModelRegistry Registry => _services.GetRequiredService<ModelRegistry>();

    public ModelRouter Router => _services.GetRequiredService<ModelRouter>();

    /// <summary>The core's loggers, which a test adds a provider to in order to read what is logged.</summary>
    public Microsoft.Extensions.Logging.ILoggerFactory Loggers => _services.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>();

    /// <summary>The server's own Prometheus registry, which the core's metrics are in.</summary>
    public Prometheus.CollectorRegistry Metrics => _services.GetRequiredService<Prometheus.CollectorRegistry>();

    /// <summary>The loaded version a request for <paramref name="model"/> (and <paramref name="version"/>) is routed to.</summary>
    public ModelVersion Resolve(string model, string? version = null) => Door.Resolve(model, version, default(RoutingContext)).Serving;

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
