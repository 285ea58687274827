using InferenceServer.Core.Backends;
using InferenceServer.Core.Lifecycle;
using InferenceServer.Core.Serving;
using InferenceServer.OnnxRuntime;

namespace InferenceServer.Hosting;

/// <summary>
/// The serving core as every command builds it, with no transport: the front door and what stands behind it (routing,
/// registry, lifecycle, loader, metrics) and the backends. <c>serve</c> adds Kestrel and the protocols on top; a command
/// that scores files would use the front door directly.
/// </summary>
internal static class InferenceCoreServices
{
    /// <summary>
    /// Registers the core, bound from <paramref name="configuration"/>'s <c>Server</c> section; returns the lifecycle
    /// options it bound, so the host can resolve the repository paths before the startup load.
    /// </summary>
    public static ModelLifecycleOptions AddInferenceCore(this IServiceCollection services, IConfiguration configuration)
    {
        var options = ServerHost.Bind<ModelLifecycleOptions>(configuration, "Server");
        options.ModelRepositories = Repositories(configuration.GetSection("Server:ModelRepository"));
        services.AddSingleton<IModelBackend, OnnxRuntimeBackend>();
        services.AddSingleton(sp => new ServerInfo
        {
            Name = configuration.GetValue<string>("Server:Id") is { Length: > 0 } id ? id : new ServerInfo().Name,
            Backends = sp.GetServices<IModelBackend>().Select(b => b.Runtime).ToArray(),
        });
        services.AddInferenceServing(options);
        return options;
    }

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
