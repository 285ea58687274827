using InferenceServer.Hosting;

namespace InferenceServer.LoadTest.Tests.Functional;

/// <summary>
/// The real server (REST, gRPC and metrics on 127.0.0.1 port 0) over a copy of the sample models <c>income</c> and
/// <c>simple</c>, shared by the functional load runs.
/// </summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private readonly string _repository = Directory.CreateTempSubdirectory("loadtest-models-").FullName;
    private ServerHost? _host;

    public Uri HttpAddress => _host!.HttpAddress;

    public Uri GrpcAddress => _host!.GrpcAddress;

    public static string Root { get; } = FindRoot();

    public async Task InitializeAsync()
    {
        foreach (var model in (string[])["income", "simple"])
        {
            Copy(Path.Combine(Root, "models", model), Path.Combine(_repository, model));
        }
        _host = ServerHost.Create(new Dictionary<string, string?>
        {
            ["Server:ModelRepository"] = _repository,
            ["Http:Address"] = "127.0.0.1",
            ["Http:Port"] = "0",
            ["Grpc:Port"] = "0",
            ["Metrics:Port"] = "0",
            ["Logging:LogLevel:Default"] = "Warning",
        }, Root);
        await _host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
        Directory.Delete(_repository, recursive: true);
    }

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
        foreach (var folder in Directory.EnumerateDirectories(from))
        {
            Copy(folder, Path.Combine(to, Path.GetFileName(folder)));
        }
    }

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "InferenceServer.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("cannot find InferenceServer.sln above " + AppContext.BaseDirectory);
    }
}
