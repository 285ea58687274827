using InferenceServer.Core.Backends;
using InferenceServer.Core.Drift;
using InferenceServer.Core.Features.Sidecar;
using InferenceServer.Core.Lifecycle;
using InferenceServer.Core.Serving;
#if LIBTORCH_BACKEND
using InferenceServer.LibTorch;
#endif
using InferenceServer.OnnxRuntime;
using Microsoft.Extensions.Options;

namespace InferenceServer.Hosting;

/// <summary>
/// The serving core as every command builds it, with no transport: the front door and what stands behind it (routing,
/// registry, lifecycle, loader, metrics) and the backends. <c>serve</c> adds Kestrel and the protocols on top; a command
/// that scores files would use the front door directly.
/// </summary>
internal static class InferenceCoreServices
{
    /// <summary>
    /// Registers the core, with its settings bound from <paramref name="configuration"/>'s <c>Server</c> section
    /// (<see cref="ServerOptions"/>, checked at start).
    /// </summary>
    public static IServiceCollection AddInferenceCore(this IServiceCollection services, IConfiguration configuration)
    {
        var repositories = configuration.GetSection("Server:ModelRepository");
        services.AddSection<ServerOptions>(configuration, "Server", static o => o.Validate())
            // The binder fills a list only from child keys; the repository may also be one path (appsettings,
            // Server__ModelRepository), which only this reads.
            .PostConfigure(o => o.ModelRepositories = Repositories(repositories));
        services.AddSingleton<ModelLifecycleOptions>(static sp => sp.GetRequiredService<IOptions<ServerOptions>>().Value);
        services.AddSection<FeatureSidecarOptions>(configuration, "FeatureSidecar", static o => o.Validate());
        services.AddSingleton(static sp => sp.GetRequiredService<IOptions<FeatureSidecarOptions>>().Value);
        services.AddSection<DriftOptions>(configuration, "Drift", static o => o.Validate());
        services.AddSingleton(static sp => sp.GetRequiredService<IOptions<DriftOptions>>().Value);
        services.AddSingleton<IModelBackend, OnnxRuntimeBackend>();
#if LIBTORCH_BACKEND
        services.AddSingleton<IModelBackend, LibTorchBackend>();
#endif
        services.AddSingleton(static sp => new ServerInfo
        {
            Name = sp.GetRequiredService<IOptions<ServerOptions>>().Value.Id,
            Backends = sp.GetServices<IModelBackend>().Select(b => b.Runtime).ToArray(),
        });
        return services.AddInferenceServing();
    }

    /// <summary>
    /// Binds configuration section <paramref name="section"/> to <typeparamref name="T"/> once (the options system caches
    /// it), checked by <paramref name="validate"/> (which throws <see cref="ArgumentException"/> naming the setting) when
    /// first resolved and at the latest when the host starts.
    /// </summary>
    public static OptionsBuilder<T> AddSection<T>(this IServiceCollection services, IConfiguration configuration, string section, Action<T> validate)
        where T : class =>
        services.AddOptions<T>()
            .Bind(configuration.GetSection(section))
            .Validate(options =>
            {
                validate(options);
                return true;
            })
            .ValidateOnStart();

    // Server:ModelRepository is one path (appsettings, Server__ModelRepository) or a list (the repeated flag, which wins).
    private static List<string> Repositories(IConfigurationSection section)
    {
        var repositories = new List<string>();
        foreach (var child in section.GetChildren())
        {
            if (!string.IsNullOrEmpty(child.Value))
            {
                repositories.Add(child.Value);
            }
        }
        if (repositories.Count == 0)
        {
            repositories.Add(string.IsNullOrEmpty(section.Value) ? "models" : section.Value);
        }
        return repositories;
    }
}
