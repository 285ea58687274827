using InferenceServer.Core.Models;
using InferenceServer.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceServer.Tests.Common;

/// <summary>A real server (Kestrel on 127.0.0.1, port 0) over a repository, with a client pointed at it.</summary>
internal sealed class RunningServer : IAsyncDisposable
{
    private readonly HttpClient? _client;
    private readonly HttpClient? _metricsClient;

    private RunningServer(ServerHost host)
    {
        Host = host;
        _client = host.HttpEnabled ? new HttpClient { BaseAddress = host.HttpAddress } : null;
        _metricsClient = host.MetricsEnabled ? new HttpClient { BaseAddress = host.MetricsAddress } : null;
    }

    public ServerHost Host { get; }

    /// <summary>The loaded version <paramref name="version"/> of <paramref name="model"/> as the registry holds it now.</summary>
    public ModelVersion Version(string model, long version) =>
        Host.Services.GetRequiredService<ModelRegistry>().Snapshot.Models[model].Versions[version];

    public HttpClient Client => _client ?? throw new InvalidOperationException("the server runs without HTTP (Http:Enabled is false)");

    /// <summary>A client pointed at the metrics endpoint (its own port).</summary>
    public HttpClient MetricsClient => _metricsClient ?? throw new InvalidOperationException("the server runs without metrics (Metrics:Enabled is false)");

    public static Task<RunningServer> StartAsync(string repository, params (string Key, string Value)[] settings) => StartAsync(repository, null, settings);

    /// <summary>As <see cref="StartAsync(string, (string Key, string Value)[])"/>, with <paramref name="services"/> replacing some of the server's.</summary>
    public static async Task<RunningServer> StartAsync(string repository, Action<IServiceCollection>? services, params (string Key, string Value)[] settings)
    {
        var all = new Dictionary<string, string?>
        {
            ["Server:ModelRepository"] = repository,
            ["Http:Address"] = "127.0.0.1",
            ["Http:Port"] = "0",
            ["Metrics:Port"] = "0",
            ["Grpc:Port"] = "0",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }
        var host = ServerHost.Create(all, RepositoryPaths.Root, services);
        try
        {
            await host.StartAsync();
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
        return new RunningServer(host);
    }

    public async ValueTask DisposeAsync()
    {
        _client?.Dispose();
        _metricsClient?.Dispose();
        await Host.DisposeAsync();
    }
}
