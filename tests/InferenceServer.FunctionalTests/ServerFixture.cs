using InferenceServer.Hosting;

namespace InferenceServer.FunctionalTests;

/// <summary>
/// One real server for a test class: Kestrel on 127.0.0.1 port 0 over a temporary repository
/// holding the sample models, test fixtures, and models that must fail to load.
/// </summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private ServerHost? _host;

    public string RepositoryPath { get; } = Path.Combine(Path.GetTempPath(), "inference-server-tests", Guid.NewGuid().ToString("N"));

    public HttpClient Client { get; private set; } = null!;

    internal ServerHost Host => _host!;

    public async Task InitializeAsync()
    {
        BuildRepository();
        _host = ServerHost.Create(new Dictionary<string, string?>
        {
            ["Server:ModelRepository"] = RepositoryPath,
            ["Http:Address"] = "127.0.0.1",
            ["Http:Port"] = "0",
            ["Http:MaxRequestBodyBytes"] = (4 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Logging:LogLevel:Default"] = "Warning",
        }, RepositoryPaths.Root);
        await _host.StartAsync();
        Client = new HttpClient { BaseAddress = _host.HttpAddress };
    }

    private void BuildRepository()
    {
        Directory.CreateDirectory(RepositoryPath);
        foreach (var model in Directory.EnumerateDirectories(RepositoryPaths.Models))
        {
            if (File.Exists(Path.Combine(model, "config.pbtxt")))
            {
                CopyDirectory(model, Path.Combine(RepositoryPath, Path.GetFileName(model)));
            }
        }

        // No config.pbtxt: both are completed from the model files (auto-complete).
        AddModelFile("identity", Path.Combine(RepositoryPaths.OnnxFixtures, "identity_all.onnx"));
        AddModelFile("add_sub", Path.Combine(RepositoryPaths.OnnxFixtures, "add_sub.onnx"));

        // Models that must fail to load while the others serve.
        AddModel("corrupt", "name: \"corrupt\"\nplatform: \"onnxruntime_onnx\"\nmax_batch_size: 0\n", "this is not an onnx file"u8.ToArray());
        AddModelFile("mismatch", Path.Combine(RepositoryPaths.OnnxFixtures, "add_sub.onnx"),
            """
            name: "mismatch"
            backend: "onnxruntime"
            max_batch_size: 8
            input [ { name: "A" data_type: TYPE_FP32 dims: [ 16 ] }, { name: "B" data_type: TYPE_INT32 dims: [ 16 ] } ]
            output [ { name: "SUM" data_type: TYPE_INT32 dims: [ 16 ] } ]
            """);
        AddModelFile("bad_config", Path.Combine(RepositoryPaths.OnnxFixtures, "add_sub.onnx"), "name: \"bad_config\"\nmax_batch_size: {\n");
    }

    private void AddModelFile(string name, string onnxPath, string? config = null) =>
        AddModel(name, config, File.ReadAllBytes(onnxPath));

    private void AddModel(string name, string? config, byte[] model)
    {
        var folder = Path.Combine(RepositoryPath, name);
        Directory.CreateDirectory(Path.Combine(folder, "1"));
        if (config is not null)
        {
            File.WriteAllText(Path.Combine(folder, "config.pbtxt"), config);
        }
        File.WriteAllBytes(Path.Combine(folder, "1", "model.onnx"), model);
    }

    private static void CopyDirectory(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (var file in Directory.EnumerateFiles(source))
        {
            File.Copy(file, Path.Combine(destination, Path.GetFileName(file)));
        }
        foreach (var directory in Directory.EnumerateDirectories(source))
        {
            CopyDirectory(directory, Path.Combine(destination, Path.GetFileName(directory)));
        }
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
        try
        {
            Directory.Delete(RepositoryPath, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}
