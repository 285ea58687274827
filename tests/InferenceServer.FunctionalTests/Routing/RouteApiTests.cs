using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Reflection.V1;
using InferenceServer.Protocols.Access;
using InferenceServer.Protocols.Grpc;
using InferenceServer.Protocols.Grpc.Messages;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceServer.FunctionalTests.Routing;

/// <summary>
/// A route's feedback, experiment report and rollout controls through a real server over REST and gRPC. The routes are
/// declared in routing.pbtxt files of the repository, read at startup: A/B tests of income v1 against income_gbt, and
/// rollouts of income v2 (the canary) over income v1 (the baseline), with gates that never decide within a test (an
/// hour's dwell), so only the operator's actions move them.
/// </summary>
public sealed class RouteApiTests(RouteApiTests.Server fixture) : IClassFixture<RouteApiTests.Server>
{
    private const int Width = 58;

    internal const string AbTest = """
        variant { name: "income" model: "income" version: 1 weight: 50 }
        variant { name: "income_gbt" model: "income_gbt" weight: 50 }
        experiment { prediction_output: "probability" }
        """;

    internal const string Rollout = """
        variant { name: "stable" model: "income" version: 1 weight: 100 }
        variant { name: "canary" model: "income" version: 2 weight: 0 }
        rollout { canary: "canary" steps: [10, 50, 100] min_step_seconds: 3600 min_requests: 1000000 }
        """;

    /// <summary>income (versions 1 and 2) and income_gbt, and route-only folders, each used by one test so none sees another's counts.</summary>
    public sealed class Server : TestServerFixture
    {
        private protected override void Populate(TestRepository repository)
        {
            var model = File.ReadAllBytes(Path.Combine(RepositoryPaths.Models, "income", "1", "model.onnx"));
            var config = File.ReadAllText(Path.Combine(RepositoryPaths.Models, "income", "config.pbtxt")) + "\nversion_policy: { all: {} }\n";
            repository.Add("income", config, model, "model.onnx", 1, 2);
            repository.AddSample("income_gbt");
            // The variants are named after their models, so an answer's variant is also the model a feedback names.
            foreach (var route in new[] { "ab_rest", "ab_grpc", "ab_report_rest", "ab_report_grpc" })
            {
                Declare(repository, route, AbTest);
            }
            foreach (var route in new[] { "rollout_rest", "rollout_grpc" })
            {
                Declare(repository, route, Rollout);
            }
        }

        internal static void Declare(TestRepository repository, string route, string declaration)
        {
            var folder = Path.Combine(repository.Path, route);
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "routing.pbtxt"), declaration);
        }
    }

    private RouteService.RouteServiceClient RouteClient => new(fixture.Channel);

    private static string InferJson(string? id) => $$"""
        {{{(id is null ? "" : $"\"id\": \"{id}\", ")}}"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, {{Width}}],
          "data": [{{string.Join(",", Enumerable.Range(0, Width).Select(i => (i % 7 == 0 ? 0.5f : 0f).ToString(CultureInfo.InvariantCulture)))}}]}]}
        """;

    /// <summary>One REST inference; the answer's id (the client's, or the one the server gave) and its variant.</summary>
    private async Task<(string Id, string Variant)> InferRestAsync(string route, string? id = null)
    {
        using var response = await fixture.Client.PostAsync($"/v2/models/{route}/infer", new StringContent(InferJson(id), Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {text}");
        // A route without an experiment gives no id to a request that has none.
        return (JsonNode.Parse(text)!["id"]?.GetValue<string>() ?? "", response.Headers.GetValues("x-variant").Single());
    }

    /// <summary>One gRPC inference; the answer's id and the variant its trailer names.</summary>
    private async Task<(string Id, string Variant)> InferGrpcAsync(string route)
    {
        var request = new ModelInferRequest { ModelName = route };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "features", Datatype = "FP32", Shape = { 1, Width } });
        request.RawInputContents.Add(ByteString.CopyFrom(new byte[Width * sizeof(float)]));
        using var call = new GRPCInferenceService.GRPCInferenceServiceClient(fixture.Channel).ModelInferAsync(request);
        var response = await call.ResponseAsync;
        return (response.Id, call.GetTrailers().GetValue("x-variant")!);
    }

    private async Task<(HttpStatusCode Status, JsonNode Body)> SendAsync(HttpMethod method, string path, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }
        using var response = await fixture.Client.SendAsync(request);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    private static string Error(JsonNode body) => body["error"]!.GetValue<string>();

    [Fact]
    public async Task Rest_feedback_joins_each_outcome_to_the_variant_that_answered_once_and_refuses_an_unknown_id()
    {
        var seen = new HashSet<string>();
        for (var i = 0; i < 30; i++)
        {
            // Half give their own id; the others get one from the server, in the answer.
            var (id, variant) = await InferRestAsync("ab_rest", i % 2 == 0 ? $"rest-{i}" : null);
            seen.Add(variant);
            var (status, body) = await SendAsync(HttpMethod.Post, "/v2/models/ab_rest/feedback", $$"""{"id": "{{id}}", "conversion": true}""");
            Assert.True(status == HttpStatusCode.OK, body.ToJsonString());
            Assert.Equal($$"""{"route":"ab_rest","id":"{{id}}","variant":"{{variant}}","model":"{{variant}}"}""", body.ToJsonString());

            var (again, error) = await SendAsync(HttpMethod.Post, "/v2/models/ab_rest/feedback", $$"""{"id": "{{id}}", "label": 0}""");
            Assert.Equal(HttpStatusCode.BadRequest, again);
            Assert.Contains(id, Error(error));
        }
        Assert.Equal(["income", "income_gbt"], seen.Order());

        var (unknown, refusal) = await SendAsync(HttpMethod.Post, "/v2/models/ab_rest/feedback", """{"id": "never-sent", "conversion": false}""");
        Assert.Equal(HttpStatusCode.NotFound, unknown);
        Assert.Contains("never-sent", Error(refusal));
        var (notRoute, _) = await SendAsync(HttpMethod.Post, "/v2/models/income_gbt/feedback", """{"id": "x", "conversion": false}""");
        Assert.Equal(HttpStatusCode.NotFound, notRoute);
        var (noExperiment, why) = await SendAsync(HttpMethod.Post, "/v2/models/rollout_rest/feedback", """{"id": "x", "conversion": false}""");
        Assert.Equal(HttpStatusCode.NotFound, noExperiment);
        Assert.Contains("declares no experiment", Error(why));
    }

    [Fact]
    public async Task Grpc_feedback_joins_each_outcome_to_the_variant_that_answered_once_and_refuses_an_unknown_id()
    {
        var seen = new HashSet<string>();
        for (var i = 0; i < 30; i++)
        {
            var (id, variant) = await InferGrpcAsync("ab_grpc");
            Assert.NotEmpty(id);
            seen.Add(variant);
            var joined = await RouteClient.RouteFeedbackAsync(new RouteFeedbackRequest { Route = "ab_grpc", Id = id, Label = 1 });
            Assert.Equal(new RouteFeedbackResponse { Route = "ab_grpc", Id = id, Variant = variant, Model = variant }, joined);

            var again = await Assert.ThrowsAsync<RpcException>(async () => await RouteClient.RouteFeedbackAsync(new RouteFeedbackRequest { Route = "ab_grpc", Id = id, Conversion = false }));
            Assert.Equal(StatusCode.InvalidArgument, again.StatusCode);
        }
        Assert.Equal(["income", "income_gbt"], seen.Order());

        async Task<StatusCode> RefusedAsync(RouteFeedbackRequest request) =>
            (await Assert.ThrowsAsync<RpcException>(async () => await RouteClient.RouteFeedbackAsync(request))).StatusCode;
        Assert.Equal(StatusCode.NotFound, await RefusedAsync(new RouteFeedbackRequest { Route = "ab_grpc", Id = "never-sent", Conversion = true }));
        Assert.Equal(StatusCode.InvalidArgument, await RefusedAsync(new RouteFeedbackRequest { Route = "ab_grpc", Id = "no-outcome" }));
        Assert.Equal(StatusCode.InvalidArgument, await RefusedAsync(new RouteFeedbackRequest { Route = "ab_grpc", Conversion = true }));
        Assert.Equal(StatusCode.InvalidArgument, await RefusedAsync(new RouteFeedbackRequest { Route = "ab_grpc", Id = "x", Label = double.NaN }));
        Assert.Equal(StatusCode.NotFound, await RefusedAsync(new RouteFeedbackRequest { Route = "no_such_route", Id = "x", Conversion = true }));
        Assert.Equal(StatusCode.NotFound, await RefusedAsync(new RouteFeedbackRequest { Route = "rollout_grpc", Id = "x", Conversion = true }));
    }

    [Theory]
    [InlineData("""{"id": "a", "id": "b", "conversion": true}""", "key 'id' is given more than once")]
    [InlineData("""{"id": "a", "conversion": true, "conversion": false}""", "key 'conversion' is given more than once")]
    [InlineData("""{"id": 7, "conversion": true}""", "'id' must be a string")]
    [InlineData("""{"id": "a", "conversion": "yes"}""", "'conversion' must be true or false")]
    [InlineData("""{"id": "a", "label": "1"}""", "'label' must be a finite number")]
    [InlineData("""{"id": "a", "label": 1e999}""", "'label' must be a finite number")]
    [InlineData("""{"id": "a", "conversion": true, "user": "u1"}""", "'user' is not a key of the feedback request")]
    [InlineData("""{"id": "a", "conversion": true, "label": 1}""", "gives both 'conversion' and 'label'")]
    [InlineData("""{"id": "a"}""", "gives no outcome")]
    [InlineData("""{"conversion": true}""", "'id' is missing or empty")]
    [InlineData("""["a", true]""", "must be a JSON object")]
    [InlineData("""{"id": "a", "conversion": tru""", "malformed JSON")]
    [InlineData("""{"id": "a", "conversion": true} {"id": "b", "conversion": true}""", "malformed JSON")]
    [InlineData("", "has no body")]
    public async Task A_bad_feedback_body_is_refused_with_400_naming_what_is_wrong(string body, string expected)
    {
        var (status, error) = await SendAsync(HttpMethod.Post, "/v2/models/ab_rest/feedback", body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(expected, Error(error));
    }

    // Sends requests over one protocol, then outcomes: income's requests all convert, income_gbt's every other one.
    private static async Task<Dictionary<string, (int Requests, int Conversions)>> RunExperimentAsync(
        Func<Task<(string Id, string Variant)>> infer, Func<string, bool, Task> feedback)
    {
        var counts = new Dictionary<string, (int Requests, int Conversions)> { ["income"] = (0, 0), ["income_gbt"] = (0, 0) };
        for (var i = 0; i < 80; i++)
        {
            var (id, variant) = await infer();
            var converted = variant == "income" || i % 2 == 0;
            await feedback(id, converted);
            var (requests, conversions) = counts[variant];
            counts[variant] = (requests + 1, conversions + (converted ? 1 : 0));
        }
        return counts;
    }

    // Pearson's chi-square of the observed requests against a 50/50 split.
    private static double ChiSquare(Dictionary<string, (int Requests, int Conversions)> counts)
    {
        var expected = (counts["income"].Requests + counts["income_gbt"].Requests) / 2.0;
        return counts.Values.Sum(c => (c.Requests - expected) * (c.Requests - expected) / expected);
    }

    [Fact]
    public async Task The_rest_experiment_report_counts_each_variants_requests_and_outcomes_with_the_sample_ratio_check()
    {
        var counts = await RunExperimentAsync(() => InferRestAsync("ab_report_rest"), async (id, converted) =>
        {
            var (status, body) = await SendAsync(HttpMethod.Post, "/v2/models/ab_report_rest/feedback", $$"""{"id": "{{id}}", "conversion": {{(converted ? "true" : "false")}}}""");
            Assert.True(status == HttpStatusCode.OK, body.ToJsonString());
        });

        var (reportStatus, report) = await SendAsync(HttpMethod.Get, "/v2/models/ab_report_rest/experiment");
        Assert.True(reportStatus == HttpStatusCode.OK, report.ToJsonString());
        Assert.Equal("ab_report_rest", report["route"]!.GetValue<string>());
        Assert.Equal("income", report["control"]!.GetValue<string>());
        Assert.Equal(0.05, report["alpha"]!.GetValue<double>());
        var variants = report["variants"]!.AsArray();
        Assert.Equal(["income", "income_gbt"], variants.Select(v => v!["name"]!.GetValue<string>()));
        foreach (var variant in variants)
        {
            var (requests, conversions) = counts[variant!["name"]!.GetValue<string>()];
            Assert.Equal(50u, variant["weight"]!.GetValue<uint>());
            Assert.Equal(requests, variant["requests"]!.GetValue<long>());
            Assert.Equal(requests, variant["outcomes"]!.GetValue<long>());
            Assert.Equal(conversions, variant["conversions"]!.GetValue<long>());
            Assert.Equal((double)conversions / requests, variant["rate"]!.GetValue<double>(), 12);
            // Within rounding: at a rate of 1 the interval's high end computes to 1 - 1e-16.
            Assert.InRange(variant["rate"]!.GetValue<double>(), variant["ci_low"]!.GetValue<double>() - 1e-12, variant["ci_high"]!.GetValue<double>() + 1e-12);
            Assert.Equal(0, variant["labels"]!.GetValue<long>());
        }
        Assert.Equal("control", variants[0]!["note"]!.GetValue<string>());
        Assert.Equal(counts["income_gbt"].Conversions / (double)counts["income_gbt"].Requests - 1, variants[1]!["diff"]!.GetValue<double>(), 12);
        var srm = report["srm"]!;
        Assert.Equal(ChiSquare(counts), srm["chi_square"]!.GetValue<double>(), 9);
        Assert.InRange(srm["p_value"]!.GetValue<double>(), 0, 1);
        Assert.Equal(srm["p_value"]!.GetValue<double>() < 0.001, srm["mismatch"]!.GetValue<bool>());
        Assert.Null(srm["note"]);
    }

    [Fact]
    public async Task The_grpc_experiment_report_counts_labels_and_mirrors_the_json_report()
    {
        var counts = await RunExperimentAsync(() => InferGrpcAsync("ab_report_grpc"), (id, converted) =>
            RouteClient.RouteFeedbackAsync(new RouteFeedbackRequest { Route = "ab_report_grpc", Id = id, Label = converted ? 1 : 0 }).ResponseAsync);

        var report = await RouteClient.RouteExperimentAsync(new RouteExperimentRequest { Route = "ab_report_grpc" });
        Assert.Equal(("ab_report_grpc", "income", 0.05, 0.95), (report.Route, report.Control, report.Alpha, report.Confidence));
        Assert.Equal(["income", "income_gbt"], report.Variants.Select(v => v.Name));
        foreach (var variant in report.Variants)
        {
            var (requests, conversions) = counts[variant.Name];
            Assert.Equal((requests, requests, conversions, requests), (variant.Requests, variant.Outcomes, variant.Conversions, variant.Labels));
            Assert.Equal((double)conversions / requests, variant.Rate!.Value, 12);
            Assert.Equal((double)conversions / requests, variant.MeanLabel!.Value, 12);
            Assert.NotNull(variant.Accuracy);
        }
        Assert.Null(report.Variants[0].PValue);
        Assert.Equal("control", report.Variants[0].Note);
        Assert.Equal(ChiSquare(counts), report.Srm.ChiSquare!.Value, 9);

        // Field for field what REST prints of the same report (nulls as unset wrappers, absent notes as empty).
        var (_, json) = await SendAsync(HttpMethod.Get, "/v2/models/ab_report_grpc/experiment");
        Assert.Equal(json["mde"]?.GetValue<double>(), report.Mde);
        Assert.Equal(json["srm"]!["p_value"]!.GetValue<double>(), report.Srm.PValue!.Value, 12);
        for (var i = 0; i < 2; i++)
        {
            var row = json["variants"]![i]!;
            var variant = report.Variants[i];
            Assert.Equal(row["accuracy"]!.GetValue<double>(), variant.Accuracy!.Value, 12);
            Assert.Equal(row["mean_abs_error"]!.GetValue<double>(), variant.MeanAbsError!.Value, 12);
            Assert.Equal(row["ci_low"]!.GetValue<double>(), variant.CiLow!.Value, 12);
            Assert.Equal(row["p_value"]?.GetValue<double>(), variant.PValue);
            Assert.Equal(row["mde"]?.GetValue<double>(), variant.Mde);
            Assert.Equal(row["note"]?.GetValue<string>() ?? "", variant.Note);
        }
    }

    [Fact]
    public async Task Experiment_and_rollout_calls_answer_404_for_what_a_route_does_not_declare_and_400_for_an_unknown_action()
    {
        foreach (var path in new[] { "/v2/models/no_such_route/experiment", "/v2/models/rollout_rest/experiment", "/v2/models/income_gbt/experiment",
            "/v2/models/ab_rest/rollout", "/v2/models/no_such_route/rollout" })
        {
            var (status, body) = await SendAsync(HttpMethod.Get, path);
            Assert.True(status == HttpStatusCode.NotFound, $"{path}: {status} {body.ToJsonString()}");
        }
        var (bad, why) = await SendAsync(HttpMethod.Post, "/v2/models/rollout_rest/rollout/explode");
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Equal("'explode' is not a rollout action: pause, resume, promote or abort", Error(why));

        async Task<StatusCode> RefusedAsync(Func<Task> call) => (await Assert.ThrowsAsync<RpcException>(call)).StatusCode;
        Assert.Equal(StatusCode.NotFound, await RefusedAsync(async () => await RouteClient.RouteExperimentAsync(new RouteExperimentRequest { Route = "rollout_grpc" })));
        Assert.Equal(StatusCode.NotFound, await RefusedAsync(async () => await RouteClient.RouteRolloutAsync(new RouteRolloutRequest { Route = "ab_grpc" })));
        Assert.Equal(StatusCode.InvalidArgument, await RefusedAsync(async () =>
            await RouteClient.RouteRolloutActionAsync(new RouteRolloutActionRequest { Route = "rollout_grpc", Action = "explode" })));
    }

    private async Task<HashSet<string>> VariantsOverRestAsync(string route, int requests)
    {
        var seen = new HashSet<string>();
        for (var i = 0; i < requests; i++)
        {
            seen.Add((await InferRestAsync(route)).Variant);
        }
        return seen;
    }

    [Fact]
    public async Task The_rest_rollout_reads_its_state_and_pause_resume_promote_abort_change_where_requests_go()
    {
        const string Path = "/v2/models/rollout_rest/rollout";
        var (status, rollout) = await SendAsync(HttpMethod.Get, Path);
        Assert.True(status == HttpStatusCode.OK, rollout.ToJsonString());
        Assert.Equal(("rollout_rest", "canary", "stable", "progressing", 1, 10u), (rollout["route"]!.GetValue<string>(), rollout["canary"]!.GetValue<string>(),
            rollout["baseline"]!.GetValue<string>(), rollout["state"]!.GetValue<string>(), rollout["step"]!.GetValue<int>(), rollout["canary_percent"]!.GetValue<uint>()));
        Assert.Equal([10, 50, 100], rollout["steps"]!.AsArray().Select(s => s!.GetValue<int>()));
        Assert.Equal("started", rollout["history"]![0]!["event"]!.GetValue<string>());

        (_, rollout) = await SendAsync(HttpMethod.Post, $"{Path}/pause");
        Assert.Equal("paused", rollout["state"]!.GetValue<string>());
        var (twice, _) = await SendAsync(HttpMethod.Post, $"{Path}/pause");
        Assert.Equal(HttpStatusCode.BadRequest, twice);
        (_, rollout) = await SendAsync(HttpMethod.Post, $"{Path}/resume");
        Assert.Equal("progressing", rollout["state"]!.GetValue<string>());

        (_, rollout) = await SendAsync(HttpMethod.Post, $"{Path}/promote");
        Assert.Equal((2, 50u), (rollout["step"]!.GetValue<int>(), rollout["canary_percent"]!.GetValue<uint>()));
        Assert.Equal(["canary", "stable"], (await VariantsOverRestAsync("rollout_rest", 40)).Order());
        // The step's window counts them, for its gates.
        (_, rollout) = await SendAsync(HttpMethod.Get, Path);
        var window = rollout["window"]!;
        Assert.Equal(40, window["canary"]!["requests"]!.GetValue<long>() + window["baseline"]!["requests"]!.GetValue<long>());

        (_, rollout) = await SendAsync(HttpMethod.Post, $"{Path}/abort");
        Assert.Equal(("aborted", 0u), (rollout["state"]!.GetValue<string>(), rollout["canary_percent"]!.GetValue<uint>()));
        Assert.Equal(["stable"], await VariantsOverRestAsync("rollout_rest", 30));
        Assert.Equal(["started", "paused", "resumed", "promoted", "aborted"], rollout["history"]!.AsArray().Select(e => e!["event"]!.GetValue<string>()));
        var (over, _) = await SendAsync(HttpMethod.Post, $"{Path}/abort");
        Assert.Equal(HttpStatusCode.BadRequest, over);
    }

    [Fact]
    public async Task The_grpc_rollout_reads_its_state_and_promotes_to_the_last_step_where_the_canary_takes_every_request()
    {
        var rollout = await RouteClient.RouteRolloutAsync(new RouteRolloutRequest { Route = "rollout_grpc" });
        Assert.Equal(("rollout_grpc", "canary", "stable", "progressing", 1, 10u), (rollout.Route, rollout.Canary, rollout.Baseline, rollout.State, rollout.Step, rollout.CanaryPercent));
        Assert.Equal([10u, 50u, 100u], rollout.Steps);
        Assert.Equal(1000000u, rollout.Gates.MinRequests);
        Assert.Null(rollout.Window.Decisions);

        await RouteClient.RouteRolloutActionAsync(new RouteRolloutActionRequest { Route = "rollout_grpc", Action = "promote" });
        rollout = await RouteClient.RouteRolloutActionAsync(new RouteRolloutActionRequest { Route = "rollout_grpc", Action = "promote" });
        Assert.Equal(("promoted", 100u), (rollout.State, rollout.CanaryPercent));
        Assert.Equal(["started", "promoted", "promoted"], rollout.History.Select(e => e.Event));
        for (var i = 0; i < 30; i++)
        {
            Assert.Equal("canary", (await InferGrpcAsync("rollout_grpc")).Variant);
        }
        Assert.Equal("promoted", (await RouteClient.RouteRolloutAsync(new RouteRolloutRequest { Route = "rollout_grpc" })).State);

        var over = await Assert.ThrowsAsync<RpcException>(async () => await RouteClient.RouteRolloutActionAsync(new RouteRolloutActionRequest { Route = "rollout_grpc", Action = "abort" }));
        Assert.Equal(StatusCode.InvalidArgument, over.StatusCode);
    }

    [Fact]
    public async Task Reflection_lists_the_route_service()
    {
        using var call = new ServerReflection.ServerReflectionClient(fixture.Channel).ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.Contains("inference_server.routing.RouteService", call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name));
    }

    [Fact]
    public void Each_route_call_carries_its_access_category_over_both_protocols()
    {
        var endpoints = fixture.Running.Host.Services.GetRequiredService<EndpointDataSource>().Endpoints;
        string? Rest(string pattern) => endpoints.OfType<RouteEndpoint>().Single(e => e.RoutePattern.RawText == pattern).Metadata.GetMetadata<ApiCategory>()?.Name;
        Assert.Equal("inference", Rest("/v2/models/{model}/feedback"));
        Assert.Equal("statistics", Rest("/v2/models/{model}/experiment"));
        Assert.Equal("statistics", Rest("/v2/models/{model}/rollout"));
        Assert.Equal("model-repository", Rest("/v2/models/{model}/rollout/{action}"));

        var grpc = endpoints.Where(e => e.Metadata.GetMetadata<global::Grpc.AspNetCore.Server.GrpcMethodMetadata>()?.Method.ServiceName == RouteGrpcService.ServiceName
                && e.Metadata.GetMetadata<global::Grpc.AspNetCore.Server.GrpcMethodMetadata>()!.Method.Name != "unimplementedMethod")
            .ToDictionary(e => e.Metadata.GetMetadata<global::Grpc.AspNetCore.Server.GrpcMethodMetadata>()!.Method.Name, e => e.Metadata.GetMetadata<ApiCategory>()?.Name);
        Assert.Equal(RouteService.Descriptor.Methods.Count, grpc.Count);
        Assert.Equal("inference", grpc["RouteFeedback"]);
        Assert.Equal("statistics", grpc["RouteExperiment"]);
        Assert.Equal("statistics", grpc["RouteRollout"]);
        Assert.Equal("model-repository", grpc["RouteRolloutAction"]);
    }
}
