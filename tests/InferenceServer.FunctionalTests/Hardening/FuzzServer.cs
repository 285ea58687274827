using System.Net;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using InferenceServer.FunctionalTests.Hosting;
using InferenceServer.Protocols.Grpc.Messages;

namespace InferenceServer.FunctionalTests.Hardening;

/// <summary>
/// The server the fuzz suite attacks: the real <c>inference-server</c> executable in a process of its own (so a crash
/// is seen as a crash, not as the end of the test run) over the sample models, the all-types identity model and the
/// model the config fuzzer rewrites, in explicit mode so that the repository API can load. A server that died or
/// hung is started again, and the suite goes on.
/// </summary>
public sealed class FuzzServer : IAsyncLifetime
{
    /// <summary>The model whose config.pbtxt the config fuzzer rewrites (add_sub: INPUT0/INPUT1 INT32 [16]).</summary>
    public const string ConfigModel = "fuzzcfg";

    private static readonly string[] Flags =
    [
        "--model-control-mode", "explicit", "--load-model", "*", "--exit-on-error=false", "--strict-readiness=false",
        "--http-address", "127.0.0.1", "--http-port", "0", "--grpc-port", "0", "--metrics-port", "0",
    ];

    private readonly TestRepository _repository = new();
    private readonly TestRepository _uploads = new();
    private readonly Lock _lock = new();
    private ServerProcess? _process;
    private HttpClient? _http;
    private GrpcChannel? _channel;

    internal FuzzSettings Settings { get; } = FuzzSettings.FromEnvironment();

    internal string RepositoryPath => _repository.Path;

    internal string UploadPath => _uploads.Path;

    /// <summary>A client of the running server (replaced when the server is started again).</summary>
    internal HttpClient Http => _http ?? throw new InvalidOperationException("the fuzz server has not started");

    internal GrpcChannel Channel => _channel ?? throw new InvalidOperationException("the fuzz server has not started");

    internal Uri HttpAddress => Http.BaseAddress!;

    internal Uri GrpcAddress { get; private set; } = new("http://127.0.0.1:1");

    internal bool HasExited => _process?.HasExited ?? true;

    /// <summary>How often the server was started again, and why.</summary>
    internal List<string> Restarts { get; } = [];

    public async Task InitializeAsync()
    {
        foreach (var model in new[] { "simple", "income", "text_upper", "half_scale" })
        {
            _repository.AddSample(model);
        }
        _repository.AddFixture("identity", "identity_all.onnx");
        _repository.AddFixture(ConfigModel, "add_sub.onnx");
        await StartAsync();
    }

    /// <summary>Ends the server (if still running) and starts a fresh one; returns what the old one left on stderr.</summary>
    internal async Task<string> RestartAsync(string reason)
    {
        string exit;
        lock (_lock)
        {
            var old = _process!;
            exit = old.HasExited ? $"exit code {old.ExitCode}" : "killed (still running)";
            var stderr = string.Join(" | ", old.Error.TakeLast(5));
            exit += stderr.Length > 0 ? "; stderr: " + stderr[..Math.Min(stderr.Length, 1500)] : "";
            Restarts.Add($"{reason}: {exit}");
        }
        Stop();
        await StartAsync();
        return exit;
    }

    /// <summary>Null when the server answers a valid REST and a valid gRPC request correctly; otherwise what went wrong.</summary>
    internal async Task<string?> CheckValidRequestsAsync()
    {
        using var timeout = new CancellationTokenSource(Settings.Timeout);
        try
        {
            var response = await Http.PostAsync("/v2/models/simple/infer", new StringContent(SimpleJson, System.Text.Encoding.UTF8, "application/json"), timeout.Token);
            var text = await response.Content.ReadAsStringAsync(timeout.Token);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return $"REST: the valid request got {(int)response.StatusCode}: {Cut(text)}";
            }
            var sum = JsonNode.Parse(text)!["outputs"]!.AsArray().Single(o => o!["name"]!.GetValue<string>() == "OUTPUT0")!["data"]!.AsArray();
            if (!sum.Select(v => v!.GetValue<int>()).SequenceEqual(Enumerable.Range(1, 16)))
            {
                return $"REST: the valid request got a wrong answer: {Cut(text)}";
            }

            var client = new GRPCInferenceService.GRPCInferenceServiceClient(Channel);
            var answer = await client.ModelInferAsync(SimpleGrpc(), deadline: DateTime.UtcNow + Settings.Timeout);
            var raw = answer.RawOutputContents[answer.Outputs.Select(o => o.Name).ToList().IndexOf("OUTPUT0")].ToByteArray();
            var values = Enumerable.Range(0, 16).Select(i => BitConverter.ToInt32(raw, i * 4));
            return values.SequenceEqual(Enumerable.Range(1, 16)) ? null : "gRPC: the valid request got a wrong answer";
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or RpcException or InvalidOperationException or NullReferenceException)
        {
            return $"the valid request failed: {e.GetType().Name}: {Cut(e.Message)}";
        }
    }

    /// <summary>simple's request: INPUT0 = 0..15, INPUT1 = 1s, so OUTPUT0 = 1..16.</summary>
    internal const string SimpleJson = """
        {"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [1, 16], "data": [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]},
                    {"name": "INPUT1", "datatype": "INT32", "shape": [1, 16], "data": [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}]}
        """;

    /// <summary>simple's request over gRPC, tensors in raw_input_contents.</summary>
    internal static ModelInferRequest SimpleGrpc()
    {
        var request = new ModelInferRequest { ModelName = "simple", Id = "valid" };
        foreach (var (name, value) in new[] { ("INPUT0", -1), ("INPUT1", 1) })
        {
            var input = new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = "INT32" };
            input.Shape.Add([1, 16]);
            request.Inputs.Add(input);
            request.RawInputContents.Add(ByteString.CopyFrom(Enumerable.Range(0, 16).SelectMany(i => BitConverter.GetBytes(value < 0 ? i : value)).ToArray()));
        }
        return request;
    }

    internal static string Cut(string text, int length = 300) => text.Length <= length ? text : text[..length] + "...";

    private async Task StartAsync()
    {
        // The config fuzzer may have left a config that never loads (or loads forever): every start begins valid.
        File.WriteAllText(Path.Combine(_repository.Path, ConfigModel, "config.pbtxt"), ConfigFuzzTests.ValidConfig);
        var process = ServerProcess.Start(["serve", "--model-repository", _repository.Path, .. Flags],
            new Dictionary<string, string> { ["Server__UploadDirectory"] = _uploads.Path });
        try
        {
            var http = await process.HttpClientAsync();
            http.Timeout = Timeout.InfiniteTimeSpan;
            GrpcAddress = await process.GrpcAddressAsync();
            await process.WaitForOutputAsync(new System.Text.RegularExpressions.Regex("Ready: serving|Serving, but not ready"));
            lock (_lock)
            {
                _process = process;
                _http = http;
                _channel = GrpcChannels.For(GrpcAddress);
            }
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    private void Stop()
    {
        lock (_lock)
        {
            _channel?.Dispose();
            _http?.Dispose();
            _process?.Dispose();
            _process = null;
        }
    }

    public Task DisposeAsync()
    {
        Stop();
        _repository.Dispose();
        _uploads.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>The fuzz targets share one server and run one after another, beside the rest of the suite.</summary>
[CollectionDefinition(Name)]
public sealed class FuzzCollection : ICollectionFixture<FuzzServer>
{
    public const string Name = "fuzz";
}
