using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Grpc.Core;
using InferenceServer.Core.Routing.Rollouts;
using InferenceServer.Protocols.Grpc.Messages;

namespace InferenceServer.FunctionalTests.Routing;

/// <summary>
/// Shadow traffic and automatic rollouts through a real server over REST and gRPC, with the routes declared in
/// routing.pbtxt files of the repository and real models: income (version 1 the sample, 2 the canary that fails
/// requests carrying the marker, 3 the one about 20 ms slower) and income_gbt. The client only ever sees the primary's
/// answer while the shadow is compared (or fails) aside; a failing or slow canary is taken off the traffic by its gate,
/// a healthy one is promoted step by step to all of it.
/// </summary>
public sealed class ShadowAndRolloutTests(ShadowAndRolloutTests.Server fixture) : IClassFixture<ShadowAndRolloutTests.Server>
{
    private const int Width = 58;
    private const float Marker = 1000f;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    public sealed class Server : TestServerFixture
    {
        private protected override void Populate(TestRepository repository)
        {
            repository.AddSample("income").AddSample("income_gbt");
            repository.AddVersion("income", 2, TestRepository.Fixture("income_faulty.onnx"));
            repository.AddVersion("income", 3, TestRepository.Fixture("income_slow.onnx"));
            File.AppendAllText(Path.Combine(repository.Path, "income", "config.pbtxt"), "version_policy: { all: {} }\n");
            // Beside the model: version 2, the faulty one, rolled out against version 1; it never promotes in a test's
            // time (a minute per step), so only its gate can end the rollout.
            Declare(repository, "income", """
                variant { name: "stable" version: 1 weight: 50 }
                variant { name: "canary" version: 2 weight: 50 }
                rollout { canary: "canary" steps: [50, 100] min_step_seconds: 60 min_requests: 20 }
                """);
            Declare(repository, "shadowed", """
                variant { name: "mlp" model: "income" version: 1 weight: 100 }
                variant { name: "gbt" model: "income_gbt" weight: 0 }
                shadow { variant: "gbt" percent: 100 }
                """);
            Declare(repository, "shadowed_faulty", """
                variant { name: "mlp" model: "income" version: 1 weight: 100 }
                variant { name: "faulty" model: "income" version: 2 weight: 0 }
                shadow { variant: "faulty" percent: 100 }
                """);
            // A healthy canary (the same model under another name) promoted through three steps of a second each; the
            // latency gate is loose because the machine the tests run on is shared and noisy.
            Declare(repository, "promoted", """
                variant { name: "stable" model: "income" version: 1 weight: 100 }
                variant { name: "next" model: "income" version: 1 weight: 0 }
                rollout { canary: "next" steps: [20, 60, 100] min_step_seconds: 1 min_requests: 5 max_p99_ratio: 50 }
                """);
            Declare(repository, "slowed", """
                variant { name: "stable" model: "income" version: 1 weight: 100 }
                variant { name: "slow" model: "income" version: 3 weight: 0 }
                rollout { canary: "slow" steps: [50, 100] min_step_seconds: 60 min_requests: 20 max_p99_ratio: 1.5 }
                """);
        }

        private static void Declare(TestRepository repository, string route, string text)
        {
            var folder = Path.Combine(repository.Path, route);
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "routing.pbtxt"), text);
        }
    }

    private static readonly float[] Example = [.. JsonNode.Parse(File.ReadAllText(Path.Combine(RepositoryPaths.Models, "income", "example_request.json")))!
        ["inputs"]![0]!["data"]!.AsArray().Take(Width).Select(v => v!.GetValue<float>())];

    private static float[] Features(bool marked)
    {
        var features = (float[])Example.Clone();
        if (marked)
        {
            features[0] = Marker;
        }
        return features;
    }

    private sealed record Answer(HttpStatusCode Status, string? Variant, string? Version, float Probability);

    private async Task<Answer> RestAsync(string route, bool marked = false)
    {
        var body = $$"""{"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, {{Width}}], "data": [{{string.Join(',', Features(marked).Select(f => f.ToString("R", CultureInfo.InvariantCulture)))}}]}]}""";
        using var response = await fixture.Client.PostAsync($"/v2/models/{route}/infer", new StringContent(body, Encoding.UTF8, "application/json"));
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return new Answer(response.StatusCode, null, null, float.NaN);
        }
        return new Answer(response.StatusCode, response.Headers.GetValues("x-variant").Single(), json["model_version"]!.GetValue<string>(),
            json["outputs"]![0]!["data"]![0]!.GetValue<float>());
    }

    private async Task<Answer> GrpcAsync(string route, bool marked = false)
    {
        var request = new ModelInferRequest { ModelName = route };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "features", Datatype = "FP32", Shape = { 1, Width } });
        request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes(Features(marked).AsSpan())));
        using var call = new GRPCInferenceService.GRPCInferenceServiceClient(fixture.Channel).ModelInferAsync(request);
        try
        {
            var response = await call.ResponseAsync;
            return new Answer(HttpStatusCode.OK, call.GetTrailers().GetValue("x-variant"), response.ModelVersion,
                MemoryMarshal.Cast<byte, float>(response.RawOutputContents[0].Span)[0]);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Internal)
        {
            return new Answer(HttpStatusCode.InternalServerError, null, null, float.NaN);
        }
    }

    // Even requests over REST, odd ones over gRPC.
    private Task<Answer> InferAsync(string route, int i, bool marked = false) => i % 2 == 0 ? RestAsync(route, marked) : GrpcAsync(route, marked);

    private async Task<double> MetricAsync(string name, string labels)
    {
        var text = await fixture.Running.MetricsClient.GetStringAsync("/metrics");
        var match = Regex.Match(text, "^" + Regex.Escape(name + "{" + labels + "}") + " (\\S+)$", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : double.NaN;
    }

    private async Task WaitForMetricAsync(string name, string labels, double atLeast)
    {
        var deadline = DateTime.UtcNow + Patience;
        double value;
        while ((value = await MetricAsync(name, labels)) < atLeast || double.IsNaN(value))
        {
            Assert.True(DateTime.UtcNow < deadline, $"{name}{{{labels}}} is {value}, expected at least {atLeast}");
            await Task.Delay(50);
        }
    }

    private RolloutStatus Rollout(string route) => fixture.Running.Host.FrontDoor.Rollout(route);

    [Fact]
    public async Task The_client_sees_only_the_primary_while_the_shadow_is_compared_and_its_disagreement_measured()
    {
        const int Requests = 20;
        for (var i = 0; i < Requests; i++)
        {
            var answer = await InferAsync("shadowed", i);
            Assert.Equal((HttpStatusCode.OK, "mlp", "1"), (answer.Status, answer.Variant, answer.Version));
        }
        const string Labels = "route=\"shadowed\",variant=\"gbt\"";
        await WaitForMetricAsync("inference_server_route_shadow_compared_total", Labels, Requests);
        Assert.Equal(Requests, await MetricAsync("inference_server_route_shadow_sampled_total", Labels));
        Assert.Equal(0, await MetricAsync("inference_server_route_shadow_failed_total", Labels));
        Assert.Equal(Requests, await MetricAsync("inference_server_route_requests_total", "route=\"shadowed\",variant=\"mlp\""));
        // income and income_gbt are different models of the same records: they disagree a little on every record.
        var difference = await MetricAsync("inference_server_route_shadow_mean_abs_difference", Labels + ",output=\"probability\"");
        Assert.InRange(difference, 1e-6, 1);
    }

    [Fact]
    public async Task A_failing_shadow_never_fails_the_request_and_is_counted_as_failed()
    {
        const int Requests = 10;
        for (var i = 0; i < Requests; i++)
        {
            var answer = await InferAsync("shadowed_faulty", i, marked: true);
            Assert.Equal((HttpStatusCode.OK, "mlp", "1"), (answer.Status, answer.Variant, answer.Version));
        }
        const string Labels = "route=\"shadowed_faulty\",variant=\"faulty\"";
        await WaitForMetricAsync("inference_server_route_shadow_failed_total", Labels, Requests);
        Assert.Equal(0, await MetricAsync("inference_server_route_shadow_compared_total", Labels));
        Assert.Equal(0, await MetricAsync("inference_server_route_failures_total", "route=\"shadowed_faulty\",variant=\"mlp\""));
    }

    [Fact]
    public async Task A_canary_failing_its_marked_requests_is_rolled_back_and_no_other_request_fails()
    {
        // One request in 20 (5%) carries the marker, which only the canary fails.
        var deadline = DateTime.UtcNow + Patience;
        var i = 0;
        for (; Rollout("income").State != RolloutState.RolledBack; i++)
        {
            Assert.True(DateTime.UtcNow < deadline, $"not rolled back after {i} requests: {Rollout("income").Waiting}");
            var marked = i % 20 == 19;
            var answer = await InferAsync("income", i, marked);
            Assert.True(answer.Status == HttpStatusCode.OK || marked, $"request {i} (unmarked) failed with {answer.Status}");
        }
        var status = Rollout("income");
        Assert.Equal(0u, status.CanaryPercent);
        var rollback = status.History[^1];
        Assert.Equal(RolloutEventKind.RolledBack, rollback.Kind);
        Assert.Contains("error rate", rollback.Reason, StringComparison.Ordinal);
        // From now on every request, marked or not, is the baseline's and succeeds.
        for (var j = 0; j < 20; j++)
        {
            var answer = await InferAsync("income", j, marked: j % 4 == 0);
            Assert.Equal((HttpStatusCode.OK, "stable", "1"), (answer.Status, answer.Variant, answer.Version));
        }
        Assert.Equal(1, await MetricAsync("inference_server_route_rollout_rollbacks_total", "route=\"income\",variant=\"canary\""));
        Assert.Equal(1, await MetricAsync("inference_server_route_rollout_state", "route=\"income\",variant=\"canary\",state=\"rolled_back\""));
        Assert.Equal(0, await MetricAsync("inference_server_route_variant_weight", "route=\"income\",variant=\"canary\""));
        Assert.Equal(0, await MetricAsync("inference_server_route_failures_total", "route=\"income\",variant=\"stable\""));
    }

    [Fact]
    public async Task A_healthy_canary_is_promoted_step_by_step_to_all_the_traffic()
    {
        var deadline = DateTime.UtcNow + Patience;
        var seen = new HashSet<uint>();
        for (var i = 0; Rollout("promoted").State != RolloutState.Promoted; i++)
        {
            Assert.True(DateTime.UtcNow < deadline, $"not promoted after {i} requests: {Rollout("promoted").State}, {Rollout("promoted").Waiting}");
            seen.Add(Rollout("promoted").CanaryPercent);
            var answer = await InferAsync("promoted", i);
            Assert.Equal(HttpStatusCode.OK, answer.Status);
        }
        Assert.Superset(new HashSet<uint> { 20, 60 }, seen);
        var status = Rollout("promoted");
        Assert.Equal(100u, status.CanaryPercent);
        Assert.Equal(2, status.Promotions); // 20 → 60 → 100
        for (var j = 0; j < 6; j++)
        {
            Assert.Equal("next", (await InferAsync("promoted", j)).Variant);
        }
        Assert.Equal(2, await MetricAsync("inference_server_route_rollout_promotions_total", "route=\"promoted\",variant=\"next\""));
        Assert.Equal(100, await MetricAsync("inference_server_route_rollout_canary_percent", "route=\"promoted\",variant=\"next\""));
    }

    [Fact]
    public async Task A_canary_20_ms_slower_is_rolled_back_on_the_p99_gate()
    {
        var deadline = DateTime.UtcNow + Patience;
        for (var i = 0; Rollout("slowed").State != RolloutState.RolledBack; i++)
        {
            Assert.True(DateTime.UtcNow < deadline, $"not rolled back after {i} requests: {Rollout("slowed").State}, {Rollout("slowed").Waiting}");
            Assert.Equal(HttpStatusCode.OK, (await InferAsync("slowed", i)).Status);
        }
        var rollback = Rollout("slowed").History[^1];
        Assert.Equal(RolloutEventKind.RolledBack, rollback.Kind);
        Assert.Contains("p99", rollback.Reason, StringComparison.Ordinal);
        Assert.Equal("stable", (await InferAsync("slowed", 0)).Variant);
    }
}
