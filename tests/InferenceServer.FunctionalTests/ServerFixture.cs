namespace InferenceServer.FunctionalTests;

/// <summary>
/// One real server for a test class: Kestrel on 127.0.0.1 port 0 over a temporary repository
/// holding the sample models, test fixtures, and models that must fail to load.
/// </summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private readonly TestRepository _repository = new();
    private RunningServer? _server;

    public HttpClient Client => _server!.Client;

    public async Task InitializeAsync()
    {
        foreach (var model in Directory.EnumerateDirectories(RepositoryPaths.Models))
        {
            if (File.Exists(Path.Combine(model, "config.pbtxt")))
            {
                _repository.AddSample(Path.GetFileName(model));
            }
        }

        // No config.pbtxt: both are completed from the model files (auto-complete).
        _repository.AddFixture("identity", "identity_all.onnx");
        _repository.AddFixture("add_sub", "add_sub.onnx");

        // Models that must fail to load while the others serve.
        _repository.Add("corrupt", "name: \"corrupt\"\nplatform: \"onnxruntime_onnx\"\nmax_batch_size: 0\n", "this is not an onnx file"u8.ToArray());
        _repository.AddFixture("mismatch", "add_sub.onnx",
            """
            name: "mismatch"
            backend: "onnxruntime"
            max_batch_size: 8
            input [ { name: "A" data_type: TYPE_FP32 dims: [ 16 ] }, { name: "B" data_type: TYPE_INT32 dims: [ 16 ] } ]
            output [ { name: "SUM" data_type: TYPE_INT32 dims: [ 16 ] } ]
            """);
        _repository.AddFixture("bad_config", "add_sub.onnx", "name: \"bad_config\"\nmax_batch_size: {\n");

        // The broken models are there on purpose: the server must keep running (no --exit-on-error) and report ready
        // (no --strict-readiness) while the others serve.
        _server = await RunningServer.StartAsync(_repository.Path, ("Http:MaxRequestBodyBytes", (4 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("Server:ExitOnError", "false"), ("Server:StrictReadiness", "false"));
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        _repository.Dispose();
    }
}
