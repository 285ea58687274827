using System.Globalization;
using System.Text.Json.Nodes;
using InferenceServer.Core.Backends;
using InferenceServer.FunctionalTests.Grpc;
using InferenceServer.FunctionalTests.Http;
using InferenceServer.Protocols.Grpc.Messages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace InferenceServer.FunctionalTests.Quantization;

/// <summary>
/// A config's <c>quantize</c> parameter on a real server (Kestrel on loopback, real ONNX Runtime): a variant that passes
/// the gate serves and says so in the index, statistics and metadata; a broken one is refused and FP32 keeps serving
/// with the reason; a restart reuses the cached variant instead of quantizing again.
/// </summary>
public sealed class LoadTimeQuantizationTests : IDisposable
{
    private readonly string _repository = Directory.CreateTempSubdirectory("quantize-load-").FullName;

    public LoadTimeQuantizationTests()
    {
        QuantizeFiles.CopyIncome(_repository);
        QuantizeFiles.IncomeFeatures(Path.Combine(_repository, "income", "eval.jsonl"), 400);
    }

    public void Dispose()
    {
        Directory.Delete(_repository, recursive: true);
        if (Directory.Exists(_repository + "-plain"))
        {
            Directory.Delete(_repository + "-plain", recursive: true);
        }
    }

    private string CacheFolder => Path.Combine(_repository, "income", ".quantized");

    private static Task<RunningServer> StartAsync(string repository, IModelBackend? backend, CapturedLog? log = null, params (string Key, string Value)[] settings) =>
        RunningServer.StartAsync(repository, services =>
        {
            if (backend is not null)
            {
                services.RemoveAll<IModelBackend>();
                services.AddSingleton(backend);
            }
            if (log is not null)
            {
                services.AddSingleton<ILoggerProvider>(log);
            }
        }, [("Logging:LogLevel:InferenceServer.Core.Lifecycle", "Information"), .. settings]);

    [Fact]
    public async Task ABrokenVariantIsRefusedAndFp32KeepsServingWithTheReason()
    {
        QuantizeFiles.AddParameters(_repository, ("quantize", "int8-dynamic"), ("quantize_eval_file", "eval.jsonl"), ("quantize_max_abs_error", "0.05"));
        var log = new CapturedLog();
        var backend = new BrokenQuantizerBackend();
        await using var server = await StartAsync(_repository, backend, log);

        var row = await IndexRowAsync(server);
        Assert.Equal("READY", row["state"]!.GetValue<string>());
        Assert.Equal("fp32", row["precision"]!.GetValue<string>());
        var reason = row["reason"]!.GetValue<string>();
        Assert.StartsWith("serving FP32: the int8-dynamic variant was refused by the accuracy gate: output 'probability': max abs error", reason);
        Assert.Contains("exceeds the max-abs-error limit 0.05", reason);
        Assert.Contains("decision agreement", reason);
        Assert.Contains(log.Entries, e => e.Message.Contains("serving FP32: the int8-dynamic variant was refused", StringComparison.Ordinal));

        // FP32 answers: the served file is the parent's.
        Assert.Equal(Path.Combine(_repository, "income", "1", "model.onnx"), server.Version("income", 1).Instances!.ModelPath);
        var (_, stats) = await server.Client.GetJsonAsync("/v2/models/income/versions/1/stats");
        Assert.Equal("fp32", stats!["model_stats"]![0]!["precision"]!.GetValue<string>());
        var answer = await InferAsync(server);
        Assert.InRange(answer, 0, 1);
    }

    [Fact]
    public async Task ThePassingVariantServesAndARestartReusesTheCache()
    {
        QuantizeFiles.AddParameters(_repository, ("quantize", "int8-dynamic"), ("quantize_eval_file", "eval.jsonl"), ("quantize_eval_label", "label"),
            ("quantize_min_agreement", "0.95"));
        var log = new CapturedLog();
        double fp32Answer;
        await using (var plain = await StartAsync(Fp32Repository(), null))
        {
            fp32Answer = await InferAsync(plain);
        }

        string variant;
        DateTime written;
        await using (var server = await StartAsync(_repository, null, log))
        {
            var row = await IndexRowAsync(server);
            Assert.Equal("READY", row["state"]!.GetValue<string>());
            Assert.Equal("", row["reason"]!.GetValue<string>());
            Assert.Equal("int8-dynamic", row["precision"]!.GetValue<string>());
            var (_, stats) = await server.Client.GetJsonAsync("/v2/models/income/versions/1/stats");
            Assert.Equal("int8-dynamic", stats!["model_stats"]![0]!["precision"]!.GetValue<string>());
            var (_, metadata) = await server.Client.GetJsonAsync("/v2/models/income");
            Assert.Equal("int8-dynamic", metadata!["precision"]!.GetValue<string>());

            variant = Assert.Single(Directory.GetFiles(CacheFolder));
            Assert.Equal(variant, server.Version("income", 1).Instances!.ModelPath);
            written = File.GetLastWriteTimeUtc(variant);
            Assert.Contains(log.Entries, e => e.Message.Contains("serves its int8-dynamic variant (made), which passed the accuracy gate on 400 rows", StringComparison.Ordinal));

            // The variant answers close to FP32, and is not FP32.
            var answer = await InferAsync(server);
            Assert.InRange(Math.Abs(answer - fp32Answer), 0, 0.05);
        }

        // A restart finds the variant in the cache: the same file, not rewritten; the gate runs again on it.
        var again = new CapturedLog();
        await using (var server = await StartAsync(_repository, null, again))
        {
            Assert.Equal("int8-dynamic", (await IndexRowAsync(server))["precision"]!.GetValue<string>());
            Assert.Equal(variant, Assert.Single(Directory.GetFiles(CacheFolder)));
            Assert.Equal(written, File.GetLastWriteTimeUtc(variant));
            Assert.Contains(again.Entries, e => e.Message.Contains("serves its int8-dynamic variant (reused from the cache)", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task ARestartDoesNotQuantizeAgain()
    {
        QuantizeFiles.AddParameters(_repository, ("quantize", "int8-dynamic"), ("quantize_eval_file", "eval.jsonl"));
        var first = new BrokenQuantizerBackend();
        await using (var server = await StartAsync(_repository, first))
        {
            Assert.Equal("fp32", (await IndexRowAsync(server))["precision"]!.GetValue<string>());
        }
        Assert.Equal(1, first.Broken.Calls);
        var second = new BrokenQuantizerBackend();
        await using (var server = await StartAsync(_repository, second))
        {
            Assert.Equal("fp32", (await IndexRowAsync(server))["precision"]!.GetValue<string>());
        }
        Assert.Equal(0, second.Broken.Calls);

        // Other settings are another variant: made anew.
        QuantizeFiles.AddParameters(_repository, ("quantize_per_tensor", "true"));
        await using (var server = await StartAsync(_repository, second))
        {
            await IndexRowAsync(server);
        }
        Assert.Equal(1, second.Broken.Calls);
        Assert.Equal(2, Directory.GetFiles(CacheFolder).Length);

        // A new model file makes a new variant, and the variants of the old file go. The new file is the same model with
        // an unknown protobuf field appended (number 1000, varint 1), which ONNX Runtime skips.
        var before = Directory.GetFiles(CacheFolder);
        File.AppendAllBytes(Path.Combine(_repository, "income", "1", "model.onnx"), [0xC0, 0x3E, 0x01]);
        await using (var server = await StartAsync(_repository, second))
        {
            Assert.Equal("READY", (await IndexRowAsync(server))["state"]!.GetValue<string>());
        }
        Assert.Equal(2, second.Broken.Calls);
        var after = Assert.Single(Directory.GetFiles(CacheFolder));
        Assert.DoesNotContain(after, before);
    }

    [Fact]
    public async Task BadParametersKeepFp32ServingAndSayWhy()
    {
        QuantizeFiles.AddParameters(_repository, ("quantize", "int4"));
        await using (var server = await StartAsync(_repository, null))
        {
            var row = await IndexRowAsync(server);
            Assert.Equal("READY", row["state"]!.GetValue<string>());
            Assert.Equal("serving FP32: parameter 'quantize' is 'int4'; expected int8-dynamic, int8-static or fp16", row["reason"]!.GetValue<string>());
        }
        File.Copy(Path.Combine(RepositoryPaths.Models, "income", "config.pbtxt"), Path.Combine(_repository, "income", "config.pbtxt"), overwrite: true);
        QuantizeFiles.AddParameters(_repository, ("quantize", "int8-dynamic"));
        await using (var server = await StartAsync(_repository, null))
        {
            var row = await IndexRowAsync(server);
            Assert.Equal("fp32", row["precision"]!.GetValue<string>());
            Assert.Contains("there are no evaluation rows (give 'quantize_eval_file' or model_warmup samples)", row["reason"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task AnEvaluationFileThatIsALinkOutOfTheModelFolderIsRefusedAndFp32KeepsServing()
    {
        // A link could point anywhere on the machine; as for warm-up files, it is followed only with --repository-follow-symlinks.
        var outside = Directory.CreateDirectory(_repository + "-plain").FullName;
        File.Copy(Path.Combine(_repository, "income", "eval.jsonl"), Path.Combine(outside, "rows.jsonl"));
        File.CreateSymbolicLink(Path.Combine(_repository, "income", "linked.jsonl"), Path.Combine(outside, "rows.jsonl"));
        QuantizeFiles.AddParameters(_repository, ("quantize", "int8-dynamic"), ("quantize_eval_file", "linked.jsonl"));
        await using var server = await StartAsync(_repository, null);
        var row = await IndexRowAsync(server);
        Assert.Equal("READY", row["state"]!.GetValue<string>());
        Assert.Equal("fp32", row["precision"]!.GetValue<string>());
        Assert.Contains("parameter 'quantize_eval_file' names 'linked.jsonl': 'linked.jsonl' is a symbolic link", row["reason"]!.GetValue<string>());
        Assert.InRange(await InferAsync(server), 0, 1);
    }

    [Theory]
    [InlineData("int8-dynamic")]
    [InlineData("int8-static")]
    [InlineData("fp16")]
    public async Task EveryMethodServesItsVariantWhenItPasses(string method)
    {
        // int8-static calibrates on its own rows; the gate then checks it on the evaluation rows.
        QuantizeFiles.IncomeFeatures(Path.Combine(_repository, "income", "calibration.jsonl"), 200, seed: 11);
        QuantizeFiles.AddParameters(_repository, ("quantize", method), ("quantize_eval_file", "eval.jsonl"), ("quantize_calibration", "calibration.jsonl"),
            ("quantize_max_abs_error", "0.05"));
        await using var server = await StartAsync(_repository, null);
        var row = await IndexRowAsync(server);
        Assert.True(row["precision"]!.GetValue<string>() == method, row.ToJsonString());
        Assert.InRange(await InferAsync(server), 0, 1);
    }

    [Fact]
    public async Task GrpcAnswersSayThePrecisionToo()
    {
        QuantizeFiles.AddParameters(_repository, ("quantize", "int8-dynamic"), ("quantize_eval_file", "eval.jsonl"));
        await using var server = await StartAsync(_repository, new BrokenQuantizerBackend());
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

        var row = (await client.RepositoryIndexAsync(new RepositoryIndexRequest())).Models.Single(m => m.Name == "income");
        Assert.Equal("fp32", row.Precision);
        Assert.StartsWith("serving FP32: the int8-dynamic variant was refused by the accuracy gate", row.Reason);
        Assert.Equal("fp32", (await client.ModelMetadataAsync(new ModelMetadataRequest { Name = "income" })).Precision);
        Assert.Equal("fp32", (await client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "income" })).ModelStats.Single().Precision);
    }

    [Fact]
    public async Task TheCacheBesideTheModelDoesNotMakeAPollingServerReload()
    {
        QuantizeFiles.AddParameters(_repository, ("quantize", "int8-dynamic"), ("quantize_eval_file", "eval.jsonl"), ("quantize_min_agreement", "0.95"));
        await using var server = await StartAsync(_repository, null, null,
            ("Server:ModelControlMode", "poll"), ("Server:RepositoryPollSeconds", "1"), ("Server:RepositoryPollQuietMilliseconds", "500"));
        var loaded = server.Version("income", 1);
        Assert.Equal("int8-dynamic", loaded.Precision);
        Assert.True(Directory.Exists(CacheFolder));

        // Several polls later the same version serves: the hidden folder is no version and no change of one.
        await Task.Delay(TimeSpan.FromSeconds(3.5));
        Assert.Same(loaded, server.Version("income", 1));
    }

    [Fact]
    public async Task UnderAMemoryBudgetTheServedVariantIsCharged()
    {
        QuantizeFiles.AddParameters(_repository, ("quantize", "int8-dynamic"), ("quantize_eval_file", "eval.jsonl"), ("quantize_min_agreement", "0.95"));
        await using var server = await StartAsync(_repository, null, null, ("Server:ModelMemoryBudget", "1000000000"));
        var row = await IndexRowAsync(server);
        Assert.Equal("int8-dynamic", row["precision"]!.GetValue<string>());
        // The budget charges what the load measured (the process's growth across it, here in a test process that has
        // grown before, possibly 0); what the instances report holding is the file they loaded: the variant's.
        var memory = row["memory"]!;
        Assert.Equal(1000000000, memory["cpu_budget_bytes"]!.GetValue<long>());
        Assert.Equal(1000000000 - memory["cpu_bytes"]!.GetValue<long>(), memory["cpu_headroom_bytes"]!.GetValue<long>());
        var variant = Assert.Single(Directory.GetFiles(CacheFolder));
        var version = server.Version("income", 1);
        Assert.Equal(variant, version.Instances!.ModelPath);
        Assert.Equal(new FileInfo(variant).Length, version.MemoryBytes);
    }

    private string Fp32Repository()
    {
        // Beside the repository, not in it: a folder in it would be a model.
        var plain = _repository + "-plain";
        Directory.CreateDirectory(Path.Combine(plain, "income", "1"));
        File.Copy(Path.Combine(RepositoryPaths.Models, "income", "config.pbtxt"), Path.Combine(plain, "income", "config.pbtxt"));
        File.Copy(Path.Combine(RepositoryPaths.Models, "income", "1", "model.onnx"), Path.Combine(plain, "income", "1", "model.onnx"));
        return plain;
    }

    private static async Task<JsonNode> IndexRowAsync(RunningServer server)
    {
        var (_, index) = await server.Client.PostJsonAsync("/v2/repository/index", "{}");
        return index!.AsArray().Single(r => r!["name"]!.GetValue<string>() == "income" && r["version"]?.GetValue<string>() == "1")!;
    }

    // One row of fixed features; the model's probability for it.
    private static async Task<double> InferAsync(RunningServer server)
    {
        var features = string.Join(',', Enumerable.Range(0, 58).Select(i => (i < 6 ? 0.1 * i - 0.2 : i % 4 == 0 ? 1 : 0).ToString("R", CultureInfo.InvariantCulture)));
        var (response, body) = await server.Client.PostJsonAsync("/v2/models/income/infer",
            $"{{\"inputs\":[{{\"name\":\"features\",\"datatype\":\"FP32\",\"shape\":[1,58],\"data\":[{features}]}}]}}");
        Assert.True(response.IsSuccessStatusCode, body?.ToJsonString());
        return body!["outputs"]![0]!["data"]![0]!.GetValue<double>();
    }
}
