using System.Text.Json;

namespace InferenceServer.FunctionalTests.Quantization;

/// <summary>
/// <c>inference-server quantize</c> on real files and real ONNX Runtime: a broken variant is refused (exit 3, the failing
/// figure named, nothing left behind); the real int8 variant is written as a version folder the server then serves;
/// bad flags and files give one clear line.
/// </summary>
public sealed class QuantizeCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("quantize-").FullName;

    public QuantizeCommandTests()
    {
        QuantizeFiles.CopyIncome(Repository);
        QuantizeFiles.IncomeFeatures(EvalFile, 500);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Repository => Path.Combine(_folder, "models");

    private string EvalFile => Path.Combine(_folder, "eval.jsonl");

    [Fact]
    public async Task TheGateRefusesABrokenVariantAndLeavesNothingBehind()
    {
        var backend = new BrokenQuantizerBackend();
        var run = await QuantizeRun.RunAsync(backend, "--model-repository", Repository, "--model", "income", "--method", "int8-dynamic",
            "--eval", EvalFile, "--label", "label", "--min-agreement", "0.99", "--max-abs-error", "0.05");

        Assert.True(run.ExitCode == 3, run.ToString());
        Assert.Equal(1, backend.Broken.Calls);
        // The failing figures are named, with the limits they exceeded.
        Assert.Matches(@"output 'probability': max abs error [0-9.]+ exceeds the max-abs-error limit 0\.05", run.Error);
        Assert.Matches(@"decision agreement [0-9.]+% \(>= 0\.5, 500 rows\) is below the min-agreement limit 99\.00%", run.Error);
        Assert.Contains("no version folder written", run.Error);
        Assert.Contains("FAILED output 'probability'", run.Output);
        // Neither the version folder nor the hidden staging folder is left.
        Assert.Equal(["1", "config.pbtxt"], Directory.EnumerateFileSystemEntries(Path.Combine(Repository, "income")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task JsonReportsEveryFigureOfARefusedVariant()
    {
        var run = await QuantizeRun.RunAsync(new BrokenQuantizerBackend(), "--model-repository", Repository, "--model", "income", "--method", "int8-dynamic",
            "--eval", EvalFile, "--label", "label", "--max-auc-drop", "0.01", "--json");

        Assert.True(run.ExitCode == 3, run.ToString());
        using var json = JsonDocument.Parse(run.Output);
        var root = json.RootElement;
        Assert.False(root.GetProperty("passed").GetBoolean());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("written").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("output_model").ValueKind);
        Assert.Equal(500, root.GetProperty("rows").GetInt64());
        Assert.Equal(2, root.GetProperty("version").GetInt64());
        var output = Assert.Single(root.GetProperty("outputs").EnumerateArray());
        Assert.Equal("probability", output.GetProperty("name").GetString());
        Assert.True(output.GetProperty("max_abs_error").GetDouble() > 0.05);
        var parentAuc = output.GetProperty("parent_auc").GetDouble();
        var variantAuc = output.GetProperty("variant_auc").GetDouble();
        Assert.InRange(parentAuc, 0, 1);
        Assert.Equal(parentAuc - variantAuc, output.GetProperty("auc_drop").GetDouble(), 9);
        Assert.True(root.GetProperty("size_ratio").GetDouble() > 0);
        Assert.True(root.GetProperty("latency_ratio").GetDouble() > 0);
        Assert.NotEmpty(root.GetProperty("failures").EnumerateArray());
    }

    [Fact]
    public async Task TheInt8VariantIsWrittenAsANewVersionThatTheServerServes()
    {
        var run = await QuantizeRun.RunAsync(null, "--model-repository", Repository, "--model", "income", "--method", "int8-dynamic",
            "--eval", EvalFile, "--label", "label", "--min-agreement", "0.95", "--max-abs-error", "0.1");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("int8-dynamic variant of 'income' version 1, compared on 500 rows of eval.jsonl (500 rows, labels from 'label')", run.Output);
        Assert.Contains("wrote version 2", run.Output);
        Assert.Contains("note: a server serves version 2 in place of version 1", run.Output);
        Assert.Matches(@"quantized nodes: (Gemm|MatMul) [1-9]", run.Output);
        var variant = Path.Combine(Repository, "income", "2", "model.onnx");
        Assert.True(File.Exists(variant));
        Assert.True(new FileInfo(variant).Length < new FileInfo(Path.Combine(Repository, "income", "1", "model.onnx")).Length);
        Assert.DoesNotContain(Directory.EnumerateDirectories(Path.Combine(Repository, "income")), d => Path.GetFileName(d).StartsWith('.'));

        await using var server = await RunningServer.StartAsync(Repository);
        var (_, ready) = await Http.V2Client.GetJsonAsync(server.Client, "/v2/models/income");
        Assert.Equal("2", ready!["versions"]![0]!.GetValue<string>());
        var features = string.Join(',', Enumerable.Repeat("0.5", 58));
        var (response, body) = await Http.V2Client.PostJsonAsync(server.Client, "/v2/models/income/versions/2/infer",
            $"{{\"inputs\":[{{\"name\":\"features\",\"datatype\":\"FP32\",\"shape\":[1,58],\"data\":[{features}]}}]}}");
        Assert.True(response.IsSuccessStatusCode, body?.ToJsonString());
        Assert.InRange(body!["outputs"]![0]!["data"]![0]!.GetValue<double>(), 0, 1);
    }

    [Theory]
    [InlineData(new[] { "--model", "income", "--method", "int8-dynamic" }, "flag '--model-repository' is required")]
    [InlineData(new[] { "--model-repository", "R", "--model", "income" }, "flag '--method' is required")]
    [InlineData(new[] { "--model-repository", "R", "--model", "income", "--method", "int4" }, "--method: 'int4' is not valid; expected int8-dynamic, int8-static or fp16")]
    [InlineData(new[] { "--model-repository", "R", "--model", "income", "--method", "fp16", "--min-agreement", "99" }, "--min-agreement: '99' is not valid; expected a fraction from 0 to 1")]
    [InlineData(new[] { "--model-repository", "R", "--model", "income", "--method", "fp16", "--label", "y" }, "--label names a column of the --eval file; give --eval too")]
    [InlineData(new[] { "--model-repository", "R", "--model", "income", "--method", "fp16", "--output-version", "0" }, "--output-version: '0' is not valid")]
    public async Task BadFlagsAreUsageErrors(string[] args, string message)
    {
        var run = await QuantizeRun.RunAsync(null, args);
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains(message, run.Error);
    }

    [Fact]
    public async Task BadFilesAndModelsSayWhatIsWrong()
    {
        var backend = new BrokenQuantizerBackend();
        var missing = await QuantizeRun.RunAsync(backend, "--model-repository", Repository, "--model", "nope", "--method", "int8-dynamic", "--eval", EvalFile);
        Assert.True(missing.ExitCode == 1, missing.ToString());
        Assert.Contains("no model 'nope' in", missing.Error);

        var noEval = await QuantizeRun.RunAsync(backend, "--model-repository", Repository, "--model", "income", "--method", "int8-dynamic", "--eval", Path.Combine(_folder, "none.jsonl"));
        Assert.True(noEval.ExitCode == 1, noEval.ToString());
        Assert.Contains("does not exist", noEval.Error);

        var noRows = await QuantizeRun.RunAsync(backend, "--model-repository", Repository, "--model", "income", "--method", "int8-dynamic");
        Assert.True(noRows.ExitCode == 1, noRows.ToString());
        Assert.Contains("no evaluation rows for model 'income': give --eval", noRows.Error);

        var badRow = Path.Combine(_folder, "bad.jsonl");
        await File.WriteAllTextAsync(badRow, "{\"features\":[1,2,3],\"label\":1}\n");
        var shortRow = await QuantizeRun.RunAsync(backend, "--model-repository", Repository, "--model", "income", "--method", "int8-dynamic", "--eval", badRow);
        Assert.True(shortRow.ExitCode == 1, shortRow.ToString());
        Assert.Contains("evaluation file 'bad.jsonl' row 1: field 'features': 3 values given; the input takes 58", shortRow.Error);

        var badLabel = await QuantizeRun.RunAsync(backend, "--model-repository", Repository, "--model", "income", "--method", "int8-dynamic", "--eval", EvalFile, "--label", "y");
        Assert.True(badLabel.ExitCode == 1, badLabel.ToString());
        Assert.Contains("has no label column 'y'", badLabel.Error);

        var taken = await QuantizeRun.RunAsync(backend, "--model-repository", Repository, "--model", "income", "--method", "int8-dynamic", "--eval", EvalFile, "--output-version", "1");
        Assert.True(taken.ExitCode == 1, taken.ToString());
        Assert.Contains("already has a version 1", taken.Error);
        Assert.Equal(0, backend.Broken.Calls);
    }
}
