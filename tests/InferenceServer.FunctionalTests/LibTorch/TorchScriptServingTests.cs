using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using InferenceServer.FunctionalTests.Http;
using Xunit.Abstractions;
using static InferenceServer.FunctionalTests.LibTorch.TorchScriptRepository;

namespace InferenceServer.FunctionalTests.LibTorch;

/// <summary>
/// TorchScript models served by the pytorch backend through a real server (Kestrel on loopback, real LibTorch): metadata,
/// every datatype, dynamic batching over two instances, Triton's positional names, and the same network answering the same
/// on ONNX Runtime.
/// </summary>
public sealed class TorchScriptServingTests(TorchScriptServingTests.Server server, ITestOutputHelper output) : IClassFixture<TorchScriptServingTests.Server>
{
    private readonly HttpClient _client = server.Running.Client;

    [Fact]
    public async Task MetadataShowsTheConfigsTensorsAndThePlatform()
    {
        var (response, body) = await _client.GetJsonAsync("/v2/models/tiny_mlp_torch");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("pytorch_libtorch", body!["platform"]!.GetValue<string>());
        var input = Assert.Single(body["inputs"]!.AsArray())!;
        Assert.Equal("INPUT__0", input["name"]!.GetValue<string>());
        Assert.Equal("FP32", input["datatype"]!.GetValue<string>());
        Assert.Equal([-1L, 4L], input["shape"]!.AsArray().Select(d => d!.GetValue<long>()));
        var result = Assert.Single(body["outputs"]!.AsArray())!;
        Assert.Equal("OUTPUT__0", result["name"]!.GetValue<string>());
        Assert.Equal([-1L, 3L], result["shape"]!.AsArray().Select(d => d!.GetValue<long>()));

        var (_, serverMetadata) = await _client.GetJsonAsync("/v2");
        var backend = serverMetadata!["backends"]!.AsArray().Single(b => b!["name"]!.GetValue<string>() == "pytorch")!;
        Assert.Equal("LibTorch", backend["runtime"]!.GetValue<string>());
        Assert.StartsWith("2.10", backend["version"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("cpu", backend["flavor"]!.GetValue<string>());
    }

    [Fact]
    public async Task TheSameNetworkAnswersTheSameOnLibTorchAndOnnxRuntime()
    {
        var features = MlpFeatures(32, seed: 5);
        var torch = await InferAsync("tiny_mlp_torch", MlpRequest(features));
        var onnx = await InferAsync("tiny_mlp", MlpRequest(features));

        Assert.Equal(32 * 3, torch.Length);
        Assert.Equal(onnx.Length, torch.Length);
        var largest = torch.Zip(onnx, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"largest difference between LibTorch and ONNX Runtime over 32 rows: {largest:E2}");
        Assert.True(largest < 1e-6, $"largest difference {largest}");
        // Each row is a probability distribution: the model really ran.
        for (var row = 0; row < 32; row++)
        {
            Assert.Equal(1.0, torch.Skip(row * 3).Take(3).Sum(), 5);
        }
    }

    // datatype, three values in, the three the model returns (x + 1; logical not for BOOL).
    public static readonly TheoryData<string, string, string> Values = new()
    {
        { "BOOL", "true, false, true", "false, true, false" },
        { "UINT8", "0, 254, 7", "1, 255, 8" },
        { "INT8", "-128, 126, 0", "-127, 127, 1" },
        { "INT16", "-32768, 32766, 0", "-32767, 32767, 1" },
        { "INT32", "-2147483648, 2147483646, 0", "-2147483647, 2147483647, 1" },
        { "INT64", "-9223372036854775808, 9223372036854775806, 0", "-9223372036854775807, 9223372036854775807, 1" },
        { "FP16", "0.5, -2, 1024", "1.5, -1, 1025" },
        { "BF16", "1.5, -3, 64", "2.5, -2, 65" },
        { "FP32", "1.5, -0.25, 1000000", "2.5, 0.75, 1000001" },
        { "FP64", "0.5, -2.5, 1000000000000000", "1.5, -1.5, 1000000000000001" },
    };

    [Theory]
    [MemberData(nameof(Values))]
    public async Task EveryDatatypeGoesInAndComesBack(string datatype, string values, string expected)
    {
        var inputs = Values.Select((c, i) => $$"""{"name": "INPUT__{{i}}", "datatype": "{{c[0]}}", "shape": [1, 3], "data": [{{c[1]}}]}""");
        var index = Array.IndexOf(Types, datatype);
        var request = $$"""{"inputs": [{{string.Join(",", inputs)}}], "outputs": [{"name": "OUTPUT__{{index}}"}]}""";

        var (response, body) = await _client.PostJsonAsync("/v2/models/all_types/infer", request);

        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        var result = Assert.Single(body!["outputs"]!.AsArray())!;
        Assert.Equal(datatype, result["datatype"]!.GetValue<string>());
        Assert.Equal([1L, 3L], result["shape"]!.AsArray().Select(d => d!.GetValue<long>()));
        Assert.Equal(Parse(datatype, expected), result["data"]!.AsArray().Select(v => Normalize(datatype, v!)));
        Assert.NotEqual(Parse(datatype, values), Parse(datatype, expected));
    }

    [Theory]
    [MemberData(nameof(Values))]
    public async Task EveryDatatypeGoesInAndComesBackAsBinaryTensors(string datatype, string values, string expected)
    {
        var blobs = Values.Select(c => Encode((string)c[0], (string)c[1])).ToArray();
        var index = Array.IndexOf(Types, datatype);
        var request = $$$"""
            {"inputs": [{{{string.Join(",", Values.Select((c, i) => $$$"""{"name": "INPUT__{{{i}}}", "datatype": "{{{c[0]}}}", "shape": [1, 3], "parameters": {"binary_data_size": {{{blobs[i].Length}}}}}"""))}}}],
             "outputs": [{"name": "OUTPUT__{{{index}}}", "parameters": {"binary_data": true}}]}
            """;

        var response = await _client.PostBinaryAsync("/v2/models/all_types/infer", request, blobs);

        Assert.Equal(HttpStatusCode.OK, response.Response.StatusCode);
        Assert.Equal(Encode(datatype, expected), response.Binary[$"OUTPUT__{index}"]);
        Assert.NotEqual(Encode(datatype, values), Encode(datatype, expected));
    }

    [Fact]
    public async Task ConcurrentRequestsAreBatchedTogetherAndEachGetsItsOwnRows()
    {
        var before = await CountsAsync("mlp_batched");
        var rows = Enumerable.Range(0, 16).Select(i => MlpFeatures(1, seed: 100 + i)).ToArray();

        var answers = await Task.WhenAll(rows.Select(row => InferAsync("mlp_batched", MlpRequest(row))));
        var expected = await InferAsync("tiny_mlp", MlpRequest([.. rows.SelectMany(r => r)]));

        for (var i = 0; i < rows.Length; i++)
        {
            Assert.Equal(3, answers[i].Length);
            for (var j = 0; j < 3; j++)
            {
                Assert.Equal(expected[i * 3 + j], answers[i][j], 5);
            }
        }
        var after = await CountsAsync("mlp_batched");
        Assert.Equal(16, after.Inferences - before.Inferences);
        Assert.True(after.Executions - before.Executions < 16, $"16 requests took {after.Executions - before.Executions} executions");
    }

    [Fact]
    public async Task OutputsAreForwardsResultsByTheirIndexWhateverTheConfigsOrder()
    {
        // two_outputs: forward(a, b) -> (a + b, a - b); the config lists OUTPUT__1 first, and its inputs a and b in order.
        const string request = """
            {"inputs": [{"name": "a", "datatype": "FP32", "shape": [2], "data": [10, 20]},
                        {"name": "b", "datatype": "FP32", "shape": [2], "data": [1, 2]}]}
            """;
        var (response, body) = await _client.PostJsonAsync("/v2/models/two_outputs/infer", request);

        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        var outputs = body!["outputs"]!.AsArray().ToDictionary(o => o!["name"]!.GetValue<string>(), o => o!["data"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray());
        Assert.Equal([11f, 22f], outputs["OUTPUT__0"]);
        Assert.Equal([9f, 18f], outputs["OUTPUT__1"]);
    }

    [Fact]
    public async Task AnInputOfTheWrongTypeOrShapeIsRefusedAsTheClientsMistake()
    {
        var (wrongType, typeBody) = await _client.PostJsonAsync("/v2/models/tiny_mlp_torch/infer",
            """{"inputs": [{"name": "INPUT__0", "datatype": "INT32", "shape": [1, 4], "data": [1, 2, 3, 4]}]}""");
        var (wrongShape, shapeBody) = await _client.PostJsonAsync("/v2/models/tiny_mlp_torch/infer",
            """{"inputs": [{"name": "INPUT__0", "datatype": "FP32", "shape": [1, 5], "data": [1, 2, 3, 4, 5]}]}""");

        Assert.Equal(HttpStatusCode.BadRequest, wrongType.StatusCode);
        Assert.Contains("FP32", typeBody!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, wrongShape.StatusCode);
        Assert.Contains("[-1,4]", shapeBody!["error"]!.GetValue<string>().Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
        // The model still serves.
        Assert.Equal(3, (await InferAsync("tiny_mlp_torch", MlpRequest(MlpFeatures(1, 1)))).Length);
    }

    private async Task<float[]> InferAsync(string model, string request)
    {
        var (response, body) = await _client.PostJsonAsync($"/v2/models/{model}/infer", request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{model}: {response.StatusCode} {body?.ToJsonString()}");
        return Assert.Single(body!["outputs"]!.AsArray())!["data"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray();
    }

    private async Task<(long Inferences, long Executions)> CountsAsync(string model)
    {
        var (_, stats) = await _client.GetJsonAsync($"/v2/models/{model}/stats");
        var row = stats!["model_stats"]![0]!;
        return (row["inference_count"]!.GetValue<long>(), row["execution_count"]!.GetValue<long>());
    }

    // The binary tensor extension's layout: little-endian values, one byte per BOOL.
    private static byte[] Encode(string datatype, string values)
    {
        var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream);
        foreach (var value in JsonNode.Parse($"[{values}]")!.AsArray())
        {
            var text = value!.ToJsonString();
            switch (datatype)
            {
                case "BOOL": writer.Write(value.GetValue<bool>()); break;
                case "UINT8": writer.Write(byte.Parse(text, CultureInfo.InvariantCulture)); break;
                case "INT8": writer.Write(sbyte.Parse(text, CultureInfo.InvariantCulture)); break;
                case "INT16": writer.Write(short.Parse(text, CultureInfo.InvariantCulture)); break;
                case "INT32": writer.Write(int.Parse(text, CultureInfo.InvariantCulture)); break;
                case "INT64": writer.Write(long.Parse(text, CultureInfo.InvariantCulture)); break;
                case "FP16": writer.Write((Half)double.Parse(text, CultureInfo.InvariantCulture)); break;
                // The values here are exact in BF16: its bits are the top half of the FP32 value's.
                case "BF16": writer.Write((ushort)(BitConverter.SingleToUInt32Bits(float.Parse(text, CultureInfo.InvariantCulture)) >> 16)); break;
                case "FP32": writer.Write(float.Parse(text, CultureInfo.InvariantCulture)); break;
                case "FP64": writer.Write(double.Parse(text, CultureInfo.InvariantCulture)); break;
                default: throw new ArgumentException($"no encoding for {datatype}", nameof(datatype));
            }
        }
        writer.Flush();
        return stream.ToArray();
    }

    private static object[] Parse(string datatype, string values) =>
        JsonNode.Parse($"[{values}]")!.AsArray().Select(v => Normalize(datatype, v!)).ToArray();

    private static object Normalize(string datatype, JsonNode value) => datatype == "BOOL"
        ? value.GetValue<bool>()
        : decimal.Parse(value.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>One server for the class: the two tiny_mlp samples, all_types, two_outputs and a batching copy of the MLP.</summary>
    public sealed class Server : IAsyncLifetime
    {
        private readonly TestRepository _repository = new TestRepository()
            .AddSample("tiny_mlp")
            .AddSample("tiny_mlp_torch")
            .Add("all_types", AllTypesConfig(), Fixture("all_types.pt"), "model.pt")
            .Add("two_outputs", """
                name: "two_outputs"
                backend: "pytorch"
                max_batch_size: 0
                input [ { name: "a" data_type: TYPE_FP32 dims: [ -1 ] }, { name: "b" data_type: TYPE_FP32 dims: [ -1 ] } ]
                output [ { name: "OUTPUT__1" data_type: TYPE_FP32 dims: [ -1 ] }, { name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ -1 ] } ]
                """, Fixture("two_outputs.pt"), "model.pt")
            .Add("mlp_batched", MlpConfig("mlp_batched", """
                dynamic_batching { max_queue_delay_microseconds: 200000 }
                instance_group [ { count: 2 kind: KIND_CPU } ]
                parameters { key: "intra_op_thread_count" value { string_value: "1" } }
                """), TinyMlp, "model.pt");

        internal RunningServer Running { get; private set; } = null!;

        public async Task InitializeAsync() => Running = await RunningServer.StartAsync(_repository.Path);

        public async Task DisposeAsync()
        {
            await Running.DisposeAsync();
            _repository.Dispose();
        }
    }
}
