using System.Net;
using System.Text.Json.Nodes;
using InferenceServer.FunctionalTests.Http;

namespace InferenceServer.FunctionalTests.Metrics;

/// <summary>
/// A real server with the <c>simple</c> sample: requests that succeed and fail, then
/// <c>/metrics</c> on the metrics port (checked as text and with the reference Prometheus parser)
/// and the statistics extension on the HTTP port.
/// </summary>
public sealed class MetricsEndpointTests
{
    private static readonly string[] Reasons = ["BACKEND", "CANCELED", "OTHER", "REJECTED"];

    private static string SimpleRequest(int batch, int width = 16)
    {
        var data = string.Join(",", Enumerable.Repeat(1, batch * width));
        return $$"""
            {"inputs": [
              {"name": "INPUT0", "datatype": "INT32", "shape": [{{batch}}, {{width}}], "data": [{{data}}]},
              {"name": "INPUT1", "datatype": "INT32", "shape": [{{batch}}, {{width}}], "data": [{{data}}]}]}
            """;
    }

    private static async Task<RunningServer> StartWithTrafficAsync(TestRepository repository)
    {
        repository.AddSample("simple");
        var server = await RunningServer.StartAsync(repository.Path);
        foreach (var batch in new[] { 1, 1, 2 })
        {
            var (ok, _) = await server.Client.PostJsonAsync("/v2/models/simple/infer", SimpleRequest(batch));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        // Well-formed but the wrong shape for the model: it reaches the model and fails there.
        var (bad, _) = await server.Client.PostJsonAsync("/v2/models/simple/infer", SimpleRequest(1, width: 15));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        // An unknown model has no statistics to count into.
        var (unknown, _) = await server.Client.PostJsonAsync("/v2/models/nope/infer", SimpleRequest(1));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        return server;
    }

    [Fact]
    public async Task MetricsPortServesTritonNamedSeriesThatTheReferenceParserReads()
    {
        using var repository = new TestRepository();
        await using var server = await StartWithTrafficAsync(repository);

        var response = await server.MetricsClient.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        var text = await response.Content.ReadAsStringAsync();

        Assert.Contains("# HELP nv_inference_request_success Number of successful inference requests, all batch sizes\n", text);
        Assert.Contains("# TYPE nv_inference_request_success counter\n", text);
        Assert.Contains("nv_inference_request_success{model=\"simple\",version=\"1\"} 3\n", text);
        Assert.Contains("nv_inference_request_failure{model=\"simple\",reason=\"OTHER\",version=\"1\"} 1\n", text);
        Assert.Contains("nv_inference_count{model=\"simple\",version=\"1\"} 4\n", text);
        Assert.Contains("nv_inference_exec_count{model=\"simple\",version=\"1\"} 3\n", text);

        var families = await PrometheusParser.ParseAsync(text);
        var simple = new Dictionary<string, string> { ["model"] = "simple", ["version"] = "1" };

        Assert.Equal(3, Value(families, "nv_inference_request_success", "counter", simple));
        foreach (var reason in Reasons)
        {
            Assert.Equal(reason == "OTHER" ? 1 : 0, Value(families, "nv_inference_request_failure", "counter", new(simple) { ["reason"] = reason }));
        }
        Assert.Equal(4, Value(families, "nv_inference_count", "counter", simple));
        Assert.Equal(3, Value(families, "nv_inference_exec_count", "counter", simple));
        Assert.True(Value(families, "nv_inference_request_duration_us", "counter", simple) > 0);
        Assert.True(Value(families, "nv_inference_queue_duration_us", "counter", simple) >= 0);
        Assert.True(Value(families, "nv_inference_compute_infer_duration_us", "counter", simple) > 0);
        Assert.Equal(0, Value(families, "nv_inference_compute_input_duration_us", "counter", simple));
        Assert.Equal(0, Value(families, "nv_inference_compute_output_duration_us", "counter", simple));
        Assert.Equal(0, Value(families, "nv_inference_pending_request_count", "gauge", simple));
        Assert.True(Value(families, "nv_model_load_duration_secs", "gauge", simple) > 0);

        // Ours: histograms, cumulative buckets ending in +Inf, _count equal to the +Inf bucket.
        Assert.Equal(3, Value(families, "nv_inference_request_histogram_us", "histogram", simple, "_count"));
        Assert.Equal(3, Value(families, "nv_inference_request_histogram_us", "histogram", new(simple) { ["le"] = "+Inf" }, "_bucket"));
        Assert.Equal(3, Value(families, "nv_inference_queue_histogram_us", "histogram", simple, "_count"));
        Assert.Equal(3, Value(families, "nv_inference_compute_infer_histogram_us", "histogram", simple, "_count"));
        Assert.Equal(2, Value(families, "nv_inference_batch_size_histogram", "histogram", new(simple) { ["le"] = "1" }, "_bucket"));
        Assert.Equal(3, Value(families, "nv_inference_batch_size_histogram", "histogram", new(simple) { ["le"] = "2" }, "_bucket"));
        Assert.Equal(4, Value(families, "nv_inference_batch_size_histogram", "histogram", simple, "_sum"));

        if (OperatingSystem.IsLinux())
        {
            var cpu = Value(families, "nv_cpu_utilization", "gauge", []);
            Assert.InRange(cpu, 0, 1);
            var total = Value(families, "nv_cpu_memory_total_bytes", "gauge", []);
            var used = Value(families, "nv_cpu_memory_used_bytes", "gauge", []);
            Assert.InRange(used, 1, total);
        }

        // Every family once, every series once.
        var names = families.Select(f => f!["name"]!.GetValue<string>()).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
        foreach (var family in families)
        {
            var series = family!["samples"]!.AsArray().Select(s => s!["name"]!.GetValue<string>() + s["labels"]!.ToJsonString()).ToList();
            Assert.Equal(series.Count, series.Distinct().Count());
        }
    }

    [Fact]
    public async Task StatisticsExtensionReportsCountsAndDurationsPerVersion()
    {
        using var repository = new TestRepository();
        await using var server = await StartWithTrafficAsync(repository);

        foreach (var path in new[] { "/v2/models/stats", "/v2/models/simple/stats", "/v2/models/simple/versions/1/stats" })
        {
            var (response, body) = await server.Client.GetJsonAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var stats = Assert.Single(body!["model_stats"]!.AsArray())!;
            Assert.Equal("simple", stats["name"]!.GetValue<string>());
            Assert.Equal("1", stats["version"]!.GetValue<string>());
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            Assert.InRange(stats["last_inference"]!.GetValue<long>(), now - 60_000, now + 1_000);
            Assert.Equal(4, stats["inference_count"]!.GetValue<long>());
            Assert.Equal(3, stats["execution_count"]!.GetValue<long>());

            var inference = stats["inference_stats"]!;
            Assert.Equal(3, inference["success"]!["count"]!.GetValue<long>());
            Assert.True(inference["success"]!["ns"]!.GetValue<long>() > 0);
            Assert.Equal(1, inference["fail"]!["count"]!.GetValue<long>());
            Assert.True(inference["fail"]!["ns"]!.GetValue<long>() > 0);
            Assert.Equal(3, inference["queue"]!["count"]!.GetValue<long>());
            Assert.Equal(3, inference["compute_infer"]!["count"]!.GetValue<long>());
            Assert.True(inference["compute_infer"]!["ns"]!.GetValue<long>() > 0);
            Assert.Equal(0, inference["cache_hit"]!["count"]!.GetValue<long>());

            var batches = stats["batch_stats"]!.AsArray();
            Assert.Equal([1L, 2L], batches.Select(b => b!["batch_size"]!.GetValue<long>()));
            Assert.Equal([2L, 1L], batches.Select(b => b!["compute_infer"]!["count"]!.GetValue<long>()));
        }

        var (metadata, server_) = await server.Client.GetJsonAsync("/v2");
        Assert.Equal(HttpStatusCode.OK, metadata.StatusCode);
        Assert.Contains("statistics", server_!["extensions"]!.AsArray().Select(e => e!.GetValue<string>()));
    }

    [Fact]
    public async Task StatisticsOfAnUnknownModelOrVersionIs404()
    {
        using var repository = new TestRepository();
        repository.AddSample("simple");
        await using var server = await RunningServer.StartAsync(repository.Path);

        var (model, body) = await server.Client.GetJsonAsync("/v2/models/nope/stats");
        Assert.Equal(HttpStatusCode.NotFound, model.StatusCode);
        Assert.Contains("nope", body!["error"]!.GetValue<string>());
        var (version, _) = await server.Client.GetJsonAsync("/v2/models/simple/versions/7/stats");
        Assert.Equal(HttpStatusCode.NotFound, version.StatusCode);

        // Loaded but unused: zero counts, no batches, no last inference.
        var (fresh, stats) = await server.Client.GetJsonAsync("/v2/models/simple/stats");
        Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
        var only = Assert.Single(stats!["model_stats"]!.AsArray())!;
        Assert.Equal(0, only["last_inference"]!.GetValue<long>());
        Assert.Equal(0, only["inference_stats"]!["success"]!["count"]!.GetValue<long>());
        Assert.Empty(only["batch_stats"]!.AsArray());
    }

    [Fact]
    public async Task MetricsAreServedOnTheMetricsPortOnly()
    {
        using var repository = new TestRepository();
        repository.AddSample("simple");
        await using var server = await RunningServer.StartAsync(repository.Path);

        Assert.NotEqual(server.Host.HttpAddress.Port, server.Host.MetricsAddress.Port);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.MetricsClient.GetAsync("/v2")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.MetricsClient.GetAsync("/v2/models/simple/stats")).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await server.MetricsClient.PostAsync("/metrics", new StringContent(""))).StatusCode);

        // Before any request the per-model counters already show zero, as Triton's do.
        var text = await server.MetricsClient.GetStringAsync("/metrics");
        Assert.Contains("nv_inference_request_success{model=\"simple\",version=\"1\"} 0\n", text);
        Assert.Contains("nv_inference_request_failure{model=\"simple\",reason=\"REJECTED\",version=\"1\"} 0\n", text);
        Assert.Contains("nv_inference_pending_request_count{model=\"simple\",version=\"1\"} 0\n", text);
    }

    [Fact]
    public async Task HeadAnswersLikeGetWithoutABodyAndOpenMetricsIsNotOffered()
    {
        using var repository = new TestRepository();
        repository.AddSample("simple");
        await using var server = await RunningServer.StartAsync(repository.Path);

        using var head = await server.MetricsClient.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/metrics"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", head.Content.Headers.ContentType!.ToString());
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());

        // A scraper that prefers OpenMetrics still gets Triton's format, where counters keep their names (no _total).
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Accept.ParseAdd("application/openmetrics-text; version=1.0.0");
        using var response = await server.MetricsClient.SendAsync(request);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("nv_inference_request_success{model=\"simple\",version=\"1\"} 0\n", text);
        Assert.DoesNotContain("nv_inference_request_success_total", text);
        Assert.DoesNotContain("# EOF", text);
    }

    [Fact]
    public async Task MetricsCanBeTurnedOffOrBoundToTheirOwnAddress()
    {
        using var repository = new TestRepository();
        repository.AddSample("simple");
        await using (var off = await RunningServer.StartAsync(repository.Path, ("Metrics:Enabled", "false")))
        {
            Assert.False(off.Host.MetricsEnabled);
            Assert.Throws<InvalidOperationException>(() => off.Host.BoundMetricsAddress);
            Assert.Equal(HttpStatusCode.NotFound, (await off.Client.GetAsync("/metrics")).StatusCode);
            var (ok, _) = await off.Client.PostJsonAsync("/v2/models/simple/infer", SimpleRequest(1));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        await using var own = await RunningServer.StartAsync(repository.Path, ("Metrics:Address", "0.0.0.0"));
        Assert.StartsWith("http://127.0.0.1:", own.Host.BoundHttpAddress, StringComparison.Ordinal);
        Assert.StartsWith("http://0.0.0.0:", own.Host.BoundMetricsAddress, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await own.MetricsClient.GetAsync("/metrics")).StatusCode);
    }

    // One sample's value: the family is looked up by name and type, the sample by suffix and exact labels.
    // (The reference parser reports counter samples with a _total suffix.)
    private static double Value(JsonArray families, string name, string type, Dictionary<string, string> labels, string suffix = "")
    {
        var family = families.SingleOrDefault(f => f!["name"]!.GetValue<string>() == name);
        Assert.True(family is not null, $"no family '{name}'");
        Assert.Equal(type, family!["type"]!.GetValue<string>());
        var wanted = type == "counter" && suffix.Length == 0 ? new[] { name, name + "_total" } : [name + suffix];
        var sample = family["samples"]!.AsArray().SingleOrDefault(s =>
            wanted.Contains(s!["name"]!.GetValue<string>()) && SameLabels(s["labels"]!.AsObject(), labels));
        Assert.True(sample is not null, $"no sample {name}{suffix} with labels {string.Join(",", labels)} in {family.ToJsonString()}");
        return sample!["value"]!.GetValue<double>();
    }

    private static bool SameLabels(JsonObject actual, Dictionary<string, string> expected) =>
        actual.Count == expected.Count && expected.All(e => actual[e.Key]?.GetValue<string>() == e.Value);
}
