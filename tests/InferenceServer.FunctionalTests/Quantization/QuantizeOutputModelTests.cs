using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using InferenceServer.Core.Repository;
using InferenceServer.FunctionalTests.Http;
using InferenceServer.Protocols.Grpc.Messages;

namespace InferenceServer.FunctionalTests.Quantization;

/// <summary>
/// <c>inference-server quantize --output-model NAME</c> on real files and real ONNX Runtime: an int8 variant and an fp16
/// variant with native FP16 inputs and outputs (<c>--fp16-io</c>) are written as new models whose configs the server
/// loads; the FP16 model answers FP16 requests over REST (JSON and binary) and gRPC close to the FP32 model; a broken
/// FP16 variant is refused; an existing name and flags that do not go together are refused, and the parent is untouched.
/// </summary>
public sealed class QuantizeOutputModelTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("quantize-model-").FullName;

    public QuantizeOutputModelTests()
    {
        QuantizeFiles.CopyIncome(Repository);
        QuantizeFiles.IncomeFeatures(EvalFile, 500);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Repository => Path.Combine(_folder, "models");

    private string EvalFile => Path.Combine(_folder, "eval.jsonl");

    // Three rows of income's 58 features, the same for every protocol and both models.
    private static readonly float[] Rows = [.. Enumerable.Range(0, 3 * 58).Select(i => i % 58 < 6 ? (i % 7 - 3) * 0.4f : i % 5 == 0 ? 1f : 0f)];

    private void AssertParentUntouched()
    {
        Assert.Equal(["1", "config.pbtxt"], Directory.EnumerateFileSystemEntries(Path.Combine(Repository, "income")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(File.ReadAllText(Path.Combine(RepositoryPaths.Models, "income", "config.pbtxt")), File.ReadAllText(Path.Combine(Repository, "income", "config.pbtxt")));
        // No staging folder is left in the repository either.
        Assert.DoesNotContain(Directory.EnumerateDirectories(Repository), d => Path.GetFileName(d).StartsWith('.'));
    }

    private ModelConfig WrittenConfig(string model) =>
        ModelConfigReader.ReadFile(Path.Combine(Repository, model, "config.pbtxt")).Config;

    [Fact]
    public async Task An_int8_variant_is_written_as_a_new_model_that_the_server_serves()
    {
        var run = await QuantizeRun.RunAsync(null, "--model-repository", Repository, "--model", "income", "--method", "int8-dynamic", "--output-model", "income_int8",
            "--eval", EvalFile, "--label", "label", "--min-agreement", "0.95", "--max-abs-error", "0.1");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains($"wrote model 'income_int8' version 1: {Path.Combine(Repository, "income_int8")}", run.Output);
        Assert.Contains("note: a server serves model 'income_int8' once it sees the folder", run.Output);
        AssertParentUntouched();
        Assert.True(File.Exists(Path.Combine(Repository, "income_int8", "1", "model.onnx")));
        var config = WrittenConfig("income_int8");
        Assert.Equal("income_int8", config.Name);
        Assert.Equal(DataType.TypeFp32, config.Input[0].DataType);
        Assert.Equal(256, config.MaxBatchSize);
        Assert.StartsWith("# income_int8: the int8-dynamic variant of model 'income' version 1", File.ReadAllText(Path.Combine(Repository, "income_int8", "config.pbtxt")));

        await using var server = await RunningServer.StartAsync(Repository);
        var (ready, _) = await server.Client.GetJsonAsync("/v2/models/income_int8/ready");
        Assert.True(ready.IsSuccessStatusCode);
        var (response, body) = await server.Client.PostJsonAsync("/v2/models/income_int8/infer", Json("FP32", 1));
        Assert.True(response.IsSuccessStatusCode, body?.ToJsonString());
        Assert.InRange(body!["outputs"]![0]!["data"]![0]!.GetValue<double>(), 0, 1);
    }

    [Fact]
    public async Task The_files_the_config_names_travel_with_it_and_the_version_can_be_chosen()
    {
        // A warm-up sample read from a file, and a label file: both beside the parent's config, both named by it.
        var income = Path.Combine(Repository, "income");
        Directory.CreateDirectory(Path.Combine(income, "warmup"));
        await File.WriteAllBytesAsync(Path.Combine(income, "warmup", "features.bin"), [.. Rows.Take(58).SelectMany(BitConverter.GetBytes)]);
        await File.WriteAllTextAsync(Path.Combine(income, "labels.txt"), "above_50k\n");
        var config = (await File.ReadAllTextAsync(Path.Combine(income, "config.pbtxt")))
            .Replace("    dims: [ 1 ]\n", "    dims: [ 1 ]\n    label_filename: \"labels.txt\"\n", StringComparison.Ordinal)
            + "model_warmup [ { name: \"real\" batch_size: 1 inputs { key: \"features\" value { data_type: TYPE_FP32 dims: [ 58 ] input_data_file: \"features.bin\" } } } ]\n";
        await File.WriteAllTextAsync(Path.Combine(income, "config.pbtxt"), config);

        var run = await QuantizeRun.RunAsync(null, "--model-repository", Repository, "--model", "income", "--method", "int8-dynamic", "--output-model", "income_int8",
            "--output-version", "3", "--eval", EvalFile);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("wrote model 'income_int8' version 3", run.Output);
        var written = Path.Combine(Repository, "income_int8");
        Assert.Equal(["3", "config.pbtxt", "labels.txt", "warmup"], Directory.EnumerateFileSystemEntries(written).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(income, "warmup", "features.bin")), await File.ReadAllBytesAsync(Path.Combine(written, "warmup", "features.bin")));
        Assert.Equal("labels.txt", WrittenConfig("income_int8").Output[0].LabelFilename);
        Assert.Equal("features.bin", WrittenConfig("income_int8").ModelWarmup[0].Inputs["features"].InputDataFile);

        await using var server = await RunningServer.StartAsync(Repository);
        var (ready, _) = await server.Client.GetJsonAsync("/v2/models/income_int8/versions/3/ready");
        Assert.True(ready.IsSuccessStatusCode);

        // The same warm-up file cannot feed an FP16 input: refused by name, before anything is written.
        var fp16 = await QuantizeRun.RunAsync(null, "--model-repository", Repository, "--model", "income", "--method", "fp16", "--fp16-io", "--output-model", "income_fp16",
            "--eval", EvalFile);
        Assert.True(fp16.ExitCode == 1, fp16.ToString());
        Assert.Contains("warm-up sample 'real' reads input 'features' as FP32 values from 'features.bin', but the variant takes FP16 there", fp16.Error);
        Assert.False(Directory.Exists(Path.Combine(Repository, "income_fp16")));
        Assert.DoesNotContain(Directory.EnumerateDirectories(Repository), d => Path.GetFileName(d).StartsWith('.'));
    }

    [Fact]
    public async Task An_fp16_variant_with_FP16_io_loads_and_answers_every_protocol_close_to_the_FP32_model()
    {
        var run = await QuantizeRun.RunAsync(null, "--model-repository", Repository, "--model", "income", "--method", "fp16", "--fp16-io", "--output-model", "income_fp16",
            "--eval", EvalFile, "--label", "label", "--min-agreement", "0.99", "--max-abs-error", "0.01", "--json");

        Assert.True(run.ExitCode == 0, run.ToString());
        using (var json = JsonDocument.Parse(run.Output))
        {
            var root = json.RootElement;
            Assert.Equal("income_fp16", root.GetProperty("output_model").GetString());
            Assert.Equal(1, root.GetProperty("version").GetInt64());
            Assert.Equal(500, root.GetProperty("rows").GetInt64());
            var output = Assert.Single(root.GetProperty("outputs").EnumerateArray());
            // FP16 rounds the inputs, the weights and the output: small errors, never none, and the same decisions.
            Assert.InRange(output.GetProperty("max_abs_error").GetDouble(), 1e-7, 0.01);
            Assert.InRange(output.GetProperty("mean_abs_error").GetDouble(), 1e-8, output.GetProperty("max_abs_error").GetDouble());
            Assert.Equal(500, output.GetProperty("rows").GetInt64());
            Assert.True(output.GetProperty("agreement").GetDouble() >= 0.99);
            Assert.InRange(output.GetProperty("auc_drop").GetDouble(), -0.005, 0.005);
            Assert.InRange(root.GetProperty("size_ratio").GetDouble(), 0.4, 0.6);
        }
        AssertParentUntouched();
        var config = WrittenConfig("income_fp16");
        Assert.Equal(DataType.TypeFp16, config.Input[0].DataType);
        Assert.Equal(DataType.TypeFp16, config.Output[0].DataType);

        await using var server = await RunningServer.StartAsync(Repository);
        var (_, metadata) = await server.Client.GetJsonAsync("/v2/models/income_fp16");
        Assert.Equal("FP16", metadata!["inputs"]![0]!["datatype"]!.GetValue<string>());
        Assert.Equal("FP16", metadata["outputs"]![0]!["datatype"]!.GetValue<string>());

        var (fp32Response, fp32Body) = await server.Client.PostJsonAsync("/v2/models/income/infer", Json("FP32", 3));
        Assert.True(fp32Response.IsSuccessStatusCode, fp32Body?.ToJsonString());
        var expected = fp32Body!["outputs"]![0]!["data"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        Assert.Equal(3, expected.Length);

        // REST, JSON.
        var (jsonResponse, jsonBody) = await server.Client.PostJsonAsync("/v2/models/income_fp16/infer", Json("FP16", 3));
        Assert.True(jsonResponse.IsSuccessStatusCode, jsonBody?.ToJsonString());
        Assert.Equal("FP16", jsonBody!["outputs"]![0]!["datatype"]!.GetValue<string>());
        AssertClose(expected, jsonBody["outputs"]![0]!["data"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray());

        // REST, binary.
        var binary = await server.Client.PostBinaryAsync("/v2/models/income_fp16/infer",
            """{"inputs":[{"name":"features","datatype":"FP16","shape":[3,58],"parameters":{"binary_data_size":348}}],"outputs":[{"name":"probability","parameters":{"binary_data":true}}]}""",
            Halves(Rows));
        Assert.True(binary.Response.IsSuccessStatusCode, binary.Json?.ToJsonString());
        AssertClose(expected, FromHalves(binary.Binary["probability"]));

        // gRPC: FP16 has no typed contents field, so it travels as raw bytes.
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var request = new ModelInferRequest { ModelName = "income_fp16" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "features", Datatype = "FP16" };
        input.Shape.AddRange([3, 58]);
        request.Inputs.Add(input);
        request.RawInputContents.Add(ByteString.CopyFrom(Halves(Rows)));
        var reply = await client.ModelInferAsync(request);
        Assert.Equal("FP16", reply.Outputs[0].Datatype);
        AssertClose(expected, FromHalves(reply.RawOutputContents[0].ToByteArray()));
    }

    [Fact]
    public async Task A_broken_fp16_variant_with_FP16_io_is_refused_and_leaves_nothing_behind()
    {
        var backend = new BrokenQuantizerBackend();
        var run = await QuantizeRun.RunAsync(backend, "--model-repository", Repository, "--model", "income", "--method", "fp16", "--fp16-io", "--output-model", "income_fp16",
            "--eval", EvalFile, "--label", "label", "--min-agreement", "0.99", "--max-abs-error", "0.05");

        Assert.True(run.ExitCode == 3, run.ToString());
        Assert.Equal(1, backend.Broken.Calls);
        Assert.Matches(@"output 'probability': max abs error [0-9.]+ exceeds the max-abs-error limit 0\.05", run.Error);
        Assert.Matches(@"decision agreement [0-9.]+% \(>= 0\.5, 500 rows\) is below the min-agreement limit 99\.00%", run.Error);
        Assert.Contains("no model folder written", run.Error);
        Assert.False(Directory.Exists(Path.Combine(Repository, "income_fp16")));
        AssertParentUntouched();
    }

    [Fact]
    public async Task An_existing_name_is_refused_and_left_as_it_was()
    {
        var existing = Path.Combine(Repository, "income_int8");
        Directory.CreateDirectory(existing);
        await File.WriteAllTextAsync(Path.Combine(existing, "keep.txt"), "mine");
        var backend = new BrokenQuantizerBackend();

        var run = await QuantizeRun.RunAsync(backend, "--model-repository", Repository, "--model", "income", "--method", "int8-dynamic", "--output-model", "income_int8", "--eval", EvalFile);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains($"model repository '{Repository}' already has a model 'income_int8'; choose another name with --output-model", run.Error);
        Assert.Equal(0, backend.Broken.Calls);
        Assert.Equal(["keep.txt"], Directory.EnumerateFileSystemEntries(existing).Select(Path.GetFileName));
        Assert.Equal("mine", await File.ReadAllTextAsync(Path.Combine(existing, "keep.txt")));
        AssertParentUntouched();
    }

    [Theory]
    [InlineData(new[] { "--method", "int8-dynamic", "--fp16-io", "--output-model", "x" }, "--fp16-io asks for FP16 inputs and outputs, which only --method fp16 makes")]
    [InlineData(new[] { "--method", "fp16", "--fp16-io" }, "--fp16-io changes the model's input and output types, which its versions share through config.pbtxt: give --output-model NAME")]
    [InlineData(new[] { "--method", "fp16", "--output-model", "../x" }, "--output-model: '../x' is not valid; expected a model folder name without path separators")]
    [InlineData(new[] { "--method", "fp16", "--output-model", ".hidden" }, "--output-model: '.hidden' is not valid")]
    public async Task Flags_that_do_not_go_together_are_usage_errors(string[] args, string message)
    {
        var run = await QuantizeRun.RunAsync(null, ["--model-repository", Repository, "--model", "income", .. args]);
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains(message, run.Error);
        AssertParentUntouched();
    }

    private static string Json(string datatype, int rows) =>
        $"{{\"inputs\":[{{\"name\":\"features\",\"datatype\":\"{datatype}\",\"shape\":[{rows},58],\"data\":[{string.Join(',', Rows.Take(rows * 58).Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}]}}]}}";

    private static byte[] Halves(float[] values)
    {
        var bytes = new byte[values.Length * 2];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(i * 2), (Half)values[i]);
        }
        return bytes;
    }

    private static double[] FromHalves(byte[] bytes) =>
        [.. Enumerable.Range(0, bytes.Length / 2).Select(i => (double)BinaryPrimitives.ReadHalfLittleEndian(bytes.AsSpan(i * 2)))];

    // FP16 keeps about three decimal digits: a probability within 0.005 of the FP32 model's, and not identical to all of them.
    private static void AssertClose(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 0.005, $"row {i}: FP16 model {actual[i]}, FP32 model {expected[i]}");
        }
    }
}
