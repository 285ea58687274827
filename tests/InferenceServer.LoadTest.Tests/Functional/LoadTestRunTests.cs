using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Xml;
using System.Xml.Linq;

namespace InferenceServer.LoadTest.Tests.Functional;

/// <summary>
/// <c>loadtest</c> as a user runs it, against the real server in-process: each protocol, both load models, the SLA
/// gate's exit codes, capacity search, the generator's ceiling and the reports. Assertions are about outcomes
/// (requests succeeded, exit codes, files), never about how fast this machine is.
/// </summary>
public sealed class LoadTestRunTests(ServerFixture server) : IClassFixture<ServerFixture>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("loadtest-run-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string File_(string name) => Path.Combine(_folder, name);

    private static async Task<(int ExitCode, string Out, string Error)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exitCode = await new LoadTestApp(stdout, stderr, TimeProvider.System, terminal: false).RunAsync(args, CancellationToken.None);
        return (exitCode, stdout.ToString(), stderr.ToString());
    }

    private static JsonElement OnlyRun(JsonDocument json) => Assert.Single(json.RootElement.GetProperty("runs").EnumerateArray());

    [Theory]
    [InlineData("rest-json", "income")]
    [InlineData("rest-binary", "simple")]
    [InlineData("grpc", "income")]
    public async Task A_closed_loop_run_succeeds_over_each_protocol_and_writes_its_reports(string protocol, string model)
    {
        var url = protocol == "grpc" ? server.GrpcAddress : server.HttpAddress;
        var (exitCode, output, error) = await RunAsync("--url", url.ToString(), "--model", model, "--protocol", protocol,
            "--concurrency", "4", "--duration", "2s", "--warmup", "0.5s", "--sla", "errors<=0,p99<30s", "--json", File_("r.json"), "--report", File_("r.html"));

        Assert.True(exitCode == 0, output + error);
        using var json = JsonDocument.Parse(File.ReadAllBytes(File_("r.json")));
        Assert.Equal(0, json.RootElement.GetProperty("exitCode").GetInt32());
        var run = OnlyRun(json);
        Assert.Equal(protocol, run.GetProperty("target").GetProperty("protocol").GetString());
        Assert.True(run.GetProperty("summary").GetProperty("successes").GetInt64() > 0);
        Assert.Equal(0, run.GetProperty("summary").GetProperty("errors").GetInt64());
        Assert.Empty(run.GetProperty("errorsByKind").EnumerateArray());
        Assert.True(run.GetProperty("sla").GetProperty("passed").GetBoolean());
        Assert.NotEmpty(run.GetProperty("timeSeries").EnumerateArray());
        using var reader = XmlReader.Create(File_("r.html"), new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore });
        Assert.Equal(4, XDocument.Load(reader).Descendants(XName.Get("svg", "http://www.w3.org/2000/svg")).Count());
        Assert.Contains("PASSED (exit 0)", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_predict_run_posts_each_line_of_its_input_to_the_predict_endpoint()
    {
        // The sample's raw records, one predict body per line: income's feature view encodes them on the server.
        var examples = JsonNode.Parse(File.ReadAllText(Path.Combine(ServerFixture.Root, "models", "income", "example_records.json")))!.AsArray();
        File.WriteAllLines(File_("records.jsonl"), examples.Select(e => new JsonObject { ["record"] = e!["record"]!.DeepClone() }.ToJsonString()));

        var (exitCode, output, error) = await RunAsync("--url", server.HttpAddress.ToString(), "--model", "income", "--protocol", "rest-predict",
            "--input", File_("records.jsonl"), "--concurrency", "2", "--duration", "1s", "--warmup", "0.2s", "--sla", "errors<=0", "--json", File_("r.json"));

        Assert.True(exitCode == 0, output + error);
        using var json = JsonDocument.Parse(File.ReadAllBytes(File_("r.json")));
        var run = OnlyRun(json);
        Assert.Equal("rest-predict", run.GetProperty("target").GetProperty("protocol").GetString());
        Assert.True(run.GetProperty("summary").GetProperty("successes").GetInt64() > 0);
        Assert.Equal(0, run.GetProperty("summary").GetProperty("errors").GetInt64());
    }

    [Fact]
    public async Task An_impossible_sla_fails_the_gate_with_exit_code_1_saying_by_how_much()
    {
        var (exitCode, output, _) = await RunAsync("--url", server.HttpAddress.ToString(), "--model", "income", "--protocol", "rest-binary",
            "--concurrency", "4", "--duration", "1s", "--warmup", "0.2s", "--sla", "p50<1us,throughput>=1000000", "--json", File_("r.json"));

        Assert.Equal(1, exitCode);
        Assert.Contains("SLA FAIL     p50 = ", output, StringComparison.Ordinal);
        Assert.Contains("(limit < 1 us): over by", output, StringComparison.Ordinal);
        Assert.Contains("(limit >= 1000000 req/s): under by", output, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllBytes(File_("r.json")));
        Assert.Equal(1, json.RootElement.GetProperty("exitCode").GetInt32());
        Assert.All(OnlyRun(json).GetProperty("sla").GetProperty("assertions").EnumerateArray(), a => Assert.False(a.GetProperty("passed").GetBoolean()));
    }

    [Fact]
    public async Task An_open_loop_run_keeps_a_poisson_schedule_and_reports_it()
    {
        var (exitCode, output, error) = await RunAsync("--url", server.HttpAddress.ToString(), "--model", "simple", "--protocol", "rest-json",
            "--rate", "200", "--arrival", "poisson", "--duration", "1.5s", "--warmup", "0.3s", "--json", File_("r.json"));

        Assert.True(exitCode == 0, output + error);
        using var json = JsonDocument.Parse(File.ReadAllBytes(File_("r.json")));
        var run = OnlyRun(json);
        Assert.Equal("open", run.GetProperty("load").GetProperty("mode").GetString());
        Assert.Equal("poisson", run.GetProperty("load").GetProperty("arrival").GetString());
        Assert.True(run.GetProperty("summary").GetProperty("sent").GetInt64() > 0);
        Assert.Equal(200, run.GetProperty("schedule").GetProperty("intendedRate").GetDouble());
        Assert.Contains("schedule     intended 200/s", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Requests_from_a_jsonl_file_are_sent_over_rest_and_grpc()
    {
        var example = JsonDocument.Parse(File.ReadAllText(Path.Combine(ServerFixture.Root, "models", "income", "example_request.json")));
        // The second line carries a request parameter (a routing key), which every protocol sends and the server takes.
        var keyed = JsonNode.Parse(example.RootElement.GetRawText())!;
        keyed["parameters"] = new JsonObject { ["routing_key"] = "user-17" };
        File.WriteAllText(File_("income.jsonl"), JsonSerializer.Serialize(example.RootElement) + "\n\n" + keyed.ToJsonString() + "\n");

        foreach (var (protocol, url) in new[] { ("rest-json", server.HttpAddress), ("rest-binary", server.HttpAddress), ("grpc", server.GrpcAddress) })
        {
            var (exitCode, output, error) = await RunAsync("--url", url.ToString(), "--model", "income", "--protocol", protocol,
                "--input", File_("income.jsonl"), "--concurrency", "2", "--duration", "0.5s", "--warmup", "0s", "--sla", "errors<=0");
            Assert.True(exitCode == 0, protocol + ": " + output + error);
        }
    }

    [Fact]
    public async Task A_run_whose_every_request_fails_fails_the_gate_and_counts_the_errors_by_kind()
    {
        File.WriteAllText(File_("wrong.jsonl"), """{"inputs":[{"name":"not_an_input","datatype":"FP32","shape":[1,58],"data":[""" + string.Join(',', Enumerable.Repeat("0", 58)) + "]}]}\n");

        var (exitCode, output, _) = await RunAsync("--url", server.HttpAddress.ToString(), "--model", "income", "--input", File_("wrong.jsonl"),
            "--concurrency", "2", "--duration", "0.5s", "--warmup", "0s", "--json", File_("r.json"));

        Assert.Equal(1, exitCode);
        Assert.Contains("none of the", output, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllBytes(File_("r.json")));
        var error = Assert.Single(OnlyRun(json).GetProperty("errorsByKind").EnumerateArray());
        Assert.Equal("HTTP 400", error.GetProperty("kind").GetString());
        Assert.Contains("not_an_input", error.GetProperty("sample").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Capacity_search_reports_the_highest_passing_rate()
    {
        var (exitCode, output, error) = await RunAsync("--url", server.HttpAddress.ToString(), "--model", "income", "--protocol", "rest-binary",
            "--find-max-rate", "--sla", "p99<30s,errors<=0", "--start-rate", "50", "--max-rate", "100", "--duration", "0.5s", "--max-trial-duration", "1s",
            "--warmup", "0s", "--json", File_("r.json"));

        Assert.True(exitCode == 0, output + error);
        using var json = JsonDocument.Parse(File.ReadAllBytes(File_("r.json")));
        var capacity = OnlyRun(json).GetProperty("capacity");
        Assert.Equal(100, capacity.GetProperty("maxRate").GetDouble());
        Assert.Equal([50.0, 100], capacity.GetProperty("trials").EnumerateArray().Select(t => t.GetProperty("rate").GetDouble()));
        // Scouting trials, sized for a tenth of p99's 10,000 samples, capped at --max-trial-duration.
        Assert.All(capacity.GetProperty("trials").EnumerateArray(), t =>
        {
            Assert.False(t.GetProperty("full").GetBoolean());
            Assert.Equal(1000, t.GetProperty("samplesWanted").GetInt64());
            Assert.Equal(1, t.GetProperty("durationSeconds").GetDouble(), 6);
        });
        Assert.Equal(JsonValueKind.Null, capacity.GetProperty("uncertainty").ValueKind);
        Assert.Contains("capacity     100/s (at least 100/s", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_generator_ceiling_is_measured_against_a_trivial_endpoint_and_compared_with_the_run()
    {
        var (exitCode, output, error) = await RunAsync("--url", server.GrpcAddress.ToString(), "--model", "simple", "--protocol", "grpc",
            "--concurrency", "2", "--duration", "0.5s", "--warmup", "0s", "--ceiling", "--ceiling-duration", "0.5s", "--json", File_("r.json"));

        Assert.True(exitCode == 0, output + error);
        using var json = JsonDocument.Parse(File.ReadAllBytes(File_("r.json")));
        var ceiling = Assert.Single(json.RootElement.GetProperty("ceiling").EnumerateArray());
        Assert.Equal("grpc", ceiling.GetProperty("protocol").GetString());
        Assert.True(ceiling.GetProperty("throughput").GetDouble() > 0);
        Assert.Equal(0, ceiling.GetProperty("errors").GetInt64());
        Assert.True(OnlyRun(json).GetProperty("generator").GetProperty("share").GetDouble() > 0);
        Assert.Contains("generator ceiling  grpc:", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scenarios_from_a_file_run_in_order_into_one_result()
    {
        File.WriteAllText(File_("s.yaml"), $"""
            defaults:
              model: simple
              duration: 0.5s
              warmup: 0s
              sla: "errors<=0"
            scenarios:
              - name: json
                url: {server.HttpAddress}
                concurrency: 2
              - name: grpc-open
                url: {server.GrpcAddress}
                protocol: grpc
                rate: 100
            """);

        var (exitCode, output, error) = await RunAsync("--scenario-file", File_("s.yaml"), "--json", File_("r.json"));

        Assert.True(exitCode == 0, output + error);
        using var json = JsonDocument.Parse(File.ReadAllBytes(File_("r.json")));
        Assert.Equal(["json", "grpc-open"], json.RootElement.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("name").GetString()));
        Assert.Contains("2 of 2 runs passed (exit 0)", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_usage_exits_with_2_before_any_load()
    {
        var (exitCode, _, error) = await RunAsync("--url", server.HttpAddress.ToString(), "--model", "income", "--concurrency", "many");
        Assert.Equal(2, exitCode);
        Assert.Contains("--concurrency: 'many' is not a whole number", error, StringComparison.Ordinal);

        var (missingInput, _, inputError) = await RunAsync("--url", server.HttpAddress.ToString(), "--model", "income", "--input", File_("absent.jsonl"));
        Assert.Equal(2, missingInput);
        Assert.Contains("absent.jsonl", inputError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_server_or_unknown_model_exits_with_3_before_any_load()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var (down, _, downError) = await RunAsync("--url", $"http://127.0.0.1:{port}", "--model", "income");
        Assert.Equal(3, down);
        Assert.Contains("cannot reach", downError, StringComparison.Ordinal);

        var (unknown, _, unknownError) = await RunAsync("--url", server.HttpAddress.ToString(), "--model", "no_such_model");
        Assert.Equal(3, unknown);
        Assert.Contains("404", unknownError, StringComparison.Ordinal);

        var (unknownGrpc, _, grpcError) = await RunAsync("--url", server.GrpcAddress.ToString(), "--protocol", "grpc", "--model", "no_such_model");
        Assert.Equal(3, unknownGrpc);
        Assert.Contains("no_such_model", grpcError, StringComparison.Ordinal);
    }
}
