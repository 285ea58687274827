using System.Text.Json;

namespace InferenceServer.FunctionalTests.Repository;

/// <summary>Request bodies for the repository API's load that the repository tests share.</summary>
internal static class RepositoryApi
{
    public static readonly (string, string) Explicit = ("Server:ModelControlMode", "explicit");

    /// <summary>add_sub's config as the load API's JSON, with <paramref name="extra"/> fields appended (each starting with a comma).</summary>
    public static string AddSubJson(string extra = "") => $$"""
        {"backend": "onnxruntime", "max_batch_size": 4,
         "input": [{"name": "INPUT0", "data_type": "TYPE_INT32", "dims": [16]}, {"name": "INPUT1", "data_type": "TYPE_INT32", "dims": [16]}],
         "output": [{"name": "OUTPUT0", "data_type": "TYPE_INT32", "dims": [16]}, {"name": "OUTPUT1", "data_type": "TYPE_INT32", "dims": [16]}]{{extra}}}
        """;

    /// <summary>The slow model's config as the load API's JSON, with <paramref name="extra"/> fields appended.</summary>
    public static string SlowJson(string extra = "") => $$"""
        {"backend": "onnxruntime", "max_batch_size": 0,
         "input": [{"name": "X", "data_type": "TYPE_FP32", "dims": [64, 64]}, {"name": "ITERATIONS", "data_type": "TYPE_INT64", "dims": [1]}],
         "output": [{"name": "Y", "data_type": "TYPE_FP32", "dims": [64, 64]}]{{extra}}}
        """;

    /// <summary>
    /// A warm-up of the slow model that runs for minutes: <paramref name="count"/> runs of many iterations each (read from
    /// the model's warmup/iterations file, which <see cref="AddSlowModel"/> writes).
    /// </summary>
    public static string EndlessWarmup(int count = 1000) => $$$$"""
        , "model_warmup": [{"name": "endless", "count": {{{{count}}}}, "inputs": {
            "X": {"data_type": "TYPE_FP32", "dims": [64, 64], "zero_data": true},
            "ITERATIONS": {"data_type": "TYPE_INT64", "dims": [1], "input_data_file": "iterations"}}}]
        """;

    /// <summary>Adds the slow model (no warm-up in its config.pbtxt) with a warmup/iterations file of 150,000 iterations.</summary>
    public static void AddSlowModel(TestRepository repository, string name)
    {
        repository.AddFixture(name, "slow.onnx", Lifecycle.Lifecycle.SlowConfig);
        Directory.CreateDirectory(Path.Combine(repository.Path, name, "warmup"));
        File.WriteAllBytes(Path.Combine(repository.Path, name, "warmup", "iterations"), BitConverter.GetBytes(150_000L));
    }

    /// <summary>A load body: the config (if any), the files as base64 <c>file:</c> parameters, and other parameters as given.</summary>
    public static string LoadBody(string? config, (string Path, byte[] Content)[] files, params (string Name, object Value)[] parameters)
    {
        var all = new Dictionary<string, object>();
        if (config is not null)
        {
            all["config"] = config;
        }
        foreach (var (path, content) in files)
        {
            all["file:" + path] = Convert.ToBase64String(content);
        }
        foreach (var (name, value) in parameters)
        {
            all[name] = value;
        }
        return JsonSerializer.Serialize(new { parameters = all });
    }
}
