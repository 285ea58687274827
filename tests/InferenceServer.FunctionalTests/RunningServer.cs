using InferenceServer.Hosting;

namespace InferenceServer.FunctionalTests;

/// <summary>A real server (Kestrel on 127.0.0.1, port 0) over a repository, with a client pointed at it.</summary>
internal sealed class RunningServer : IAsyncDisposable
{
    private RunningServer(ServerHost host)
    {
        Host = host;
        Client = new HttpClient { BaseAddress = host.HttpAddress };
        MetricsClient = new HttpClient { BaseAddress = host.MetricsEnabled ? host.MetricsAddress : null };
    }

    public ServerHost Host { get; }

    public HttpClient Client { get; }

    /// <summary>A client pointed at the metrics endpoint (its own port); without a base address when metrics are off.</summary>
    public HttpClient MetricsClient { get; }

    public static async Task<RunningServer> StartAsync(string repository, params (string Key, string Value)[] settings)
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
        var host = ServerHost.Create(all, RepositoryPaths.Root);
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
        Client.Dispose();
        MetricsClient.Dispose();
        await Host.DisposeAsync();
    }
}
