namespace InferenceServer.FunctionalTests;

/// <summary>
/// One real server for a test class: Kestrel on 127.0.0.1 port 0 over a temporary repository
/// holding the sample models, test fixtures, and models that must fail to load.
/// </summary>
public sealed class ServerFixture : TestServerFixture
{
    protected override (string Key, string Value)[] Settings =>
    [
        ("Http:MaxRequestBodyBytes", (4 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture)),
        // The broken models are there on purpose: the server must keep running (no --exit-on-error) and report ready
        // (no --strict-readiness) while the others serve.
        ("Server:ExitOnError", "false"), ("Server:StrictReadiness", "false"),
    ];

    private protected override void Populate(TestRepository repository)
    {
        foreach (var model in Directory.EnumerateDirectories(RepositoryPaths.Models))
        {
            if (File.Exists(Path.Combine(model, "config.pbtxt")))
            {
                repository.AddSample(Path.GetFileName(model));
            }
        }

        // No config.pbtxt: both are completed from the model files (auto-complete).
        repository.AddFixture("identity", "identity_all.onnx");
        repository.AddFixture("add_sub", "add_sub.onnx");

        // Models that must fail to load while the others serve.
        repository.Add("corrupt", "name: \"corrupt\"\nplatform: \"onnxruntime_onnx\"\nmax_batch_size: 0\n", "this is not an onnx file"u8.ToArray());
        repository.AddFixture("mismatch", "add_sub.onnx",
            """
            name: "mismatch"
            backend: "onnxruntime"
            max_batch_size: 8
            input [ { name: "A" data_type: TYPE_FP32 dims: [ 16 ] }, { name: "B" data_type: TYPE_INT32 dims: [ 16 ] } ]
            output [ { name: "SUM" data_type: TYPE_INT32 dims: [ 16 ] } ]
            """);
        repository.AddFixture("bad_config", "add_sub.onnx", "name: \"bad_config\"\nmax_batch_size: {\n");
    }
}
