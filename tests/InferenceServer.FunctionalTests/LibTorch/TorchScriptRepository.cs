namespace InferenceServer.FunctionalTests.LibTorch;

/// <summary>The TorchScript models the tests serve: the committed samples and fixtures (models/generate_torchscript.py) with test configs.</summary>
internal static class TorchScriptRepository
{
    // One input and one output per datatype the backend serves, in all_types.pt's forward() order.
    public static readonly string[] Types = ["BOOL", "UINT8", "INT8", "INT16", "INT32", "INT64", "FP16", "BF16", "FP32", "FP64"];

    public static byte[] Fixture(string name) => File.ReadAllBytes(Path.Combine(RepositoryPaths.TorchScriptFixtures, name));

    public static byte[] TinyMlp => File.ReadAllBytes(Path.Combine(RepositoryPaths.Models, "tiny_mlp_torch", "1", "model.pt"));

    public static string AllTypesConfig(string name = "all_types", int maxBatchSize = 8) => $$"""
        name: "{{name}}"
        platform: "pytorch_libtorch"
        max_batch_size: {{maxBatchSize}}
        input [ {{string.Join(", ", Types.Select((t, i) => $$"""{ name: "INPUT__{{i}}" data_type: {{ConfigType(t)}} dims: [ -1 ] }"""))}} ]
        output [ {{string.Join(", ", Types.Select((t, i) => $$"""{ name: "OUTPUT__{{i}}" data_type: {{ConfigType(t)}} dims: [ -1 ] }"""))}} ]
        """;

    /// <summary>tiny_mlp_torch's config under another name, with <paramref name="extra"/> appended (later fields win).</summary>
    public static string MlpConfig(string name, string extra = "", string outputType = "TYPE_FP32", string platform = "platform: \"pytorch_libtorch\"") => $$"""
        name: "{{name}}"
        {{platform}}
        max_batch_size: 32
        input [ { name: "INPUT__0" data_type: TYPE_FP32 dims: [ 4 ] } ]
        output [ { name: "OUTPUT__0" data_type: {{outputType}} dims: [ 3 ] } ]
        {{extra}}
        """;

    public static string ConfigType(string datatype) => "TYPE_" + datatype;

    /// <summary>One row of four features per request, the same for both backends.</summary>
    public static float[] MlpFeatures(int rows, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, rows * 4).Select(_ => (float)(random.NextDouble() * 8 - 4)).ToArray();
    }

    public static string MlpRequest(float[] features) => $$"""
        {"inputs": [{"name": "INPUT__0", "datatype": "FP32", "shape": [{{features.Length / 4}}, 4],
                     "data": [{{string.Join(",", features.Select(f => f.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}}]}]}
        """;
}
