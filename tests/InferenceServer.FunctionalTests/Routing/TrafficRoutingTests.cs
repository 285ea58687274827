using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Grpc.Core;
using InferenceServer.Core.Models;
using InferenceServer.Core.Routing;
using InferenceServer.FunctionalTests.Http;
using InferenceServer.Protocols.Grpc.Messages;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceServer.FunctionalTests.Routing;

/// <summary>
/// Declared routes through a real server over REST and gRPC, against real versions of a real model: income v1 and v2
/// behind the route <c>income</c> (declared beside the model), and income vs a second model with the same inputs behind
/// the route <c>income_ab</c> (declared alone). Every answer names its variant (header, trailer, parameter) and the
/// model version that gave it; weights split, a header forces, a named version bypasses, a key sticks.
/// </summary>
public sealed class TrafficRoutingTests(TrafficRoutingTests.Server fixture) : IClassFixture<TrafficRoutingTests.Server>
{
    private const int Width = 58;

    /// <summary>The server, with the routes published the way the lifecycle publishes a routing.pbtxt it reads.</summary>
    public sealed class Server : TestServerFixture
    {
        public const string Income = """
            variant { name: "stable" version: 1 weight: 50 }
            variant { name: "canary" version: 2 weight: 50 }
            sticky { header: "x-user" }
            """;

        public const string IncomeAb = """
            variant { name: "mlp" model: "income" version: 1 weight: 50 }
            variant { name: "copy" model: "income_copy" weight: 50 }
            variant_header: "x-arm"
            sticky { input: "features" }
            """;

        private protected override void Populate(TestRepository repository)
        {
            var model = File.ReadAllBytes(Path.Combine(RepositoryPaths.Models, "income", "1", "model.onnx"));
            var config = File.ReadAllText(Path.Combine(RepositoryPaths.Models, "income", "config.pbtxt")) + "\nversion_policy: { all: {} }\n";
            repository.Add("income", config, model, "model.onnx", 1, 2);
            repository.Add("income_copy", config.Replace("name: \"income\"", "name: \"income_copy\"", StringComparison.Ordinal), model, "model.onnx", 1);
        }

        private protected override Task OnStartedAsync(RunningServer server)
        {
            var registry = server.Host.Services.GetRequiredService<ModelRegistry>();
            registry.PublishRoute("income", RoutingConfigReader.Parse(Income, "income", besideModel: true));
            registry.PublishRoute("income_ab", RoutingConfigReader.Parse(IncomeAb, "income_ab", besideModel: false));
            return Task.CompletedTask;
        }
    }

    private GRPCInferenceService.GRPCInferenceServiceClient GrpcClient => new(fixture.Channel);

    private static float[] Features(float first)
    {
        var features = new float[Width];
        features[0] = first;
        features[5] = 1;
        return features;
    }

    private static string Json(float first = 0.25f, string parameters = "") => $$"""
        {{{parameters}}"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, {{Width}}],
          "data": [{{string.Join(",", Features(first).Select(v => v.ToString(CultureInfo.InvariantCulture)))}}]}]}
        """;

    private static ModelInferRequest GrpcRequest(string model, float first = 0.25f, string? routingKey = null, string version = "")
    {
        var request = new ModelInferRequest { ModelName = model, ModelVersion = version };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "features", Datatype = "FP32", Shape = { 1, Width } };
        request.Inputs.Add(input);
        request.RawInputContents.Add(ByteString.CopyFrom(Features(first).SelectMany(BitConverter.GetBytes).ToArray()));
        if (routingKey is not null)
        {
            request.Parameters["routing_key"] = new InferParameter { StringParam = routingKey };
        }
        return request;
    }

    private sealed record Answer(string Model, string Version, string? Variant, string? Parameter);

    private async Task<Answer> RestAsync(string path, string body, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        foreach (var (name, value) in headers)
        {
            request.Headers.Add(name, value);
        }
        using var response = await fixture.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {text}");
        return Read(response, JsonNode.Parse(text)!);
    }

    private static Answer Read(HttpResponseMessage response, JsonNode json)
    {
        var header = response.Headers.TryGetValues("x-variant", out var values) ? values.Single()
            : response.Headers.TryGetValues("x-arm", out values) ? values.Single() : null;
        return new Answer(json["model_name"]!.GetValue<string>(), json["model_version"]!.GetValue<string>(), header,
            json["parameters"]?["variant"]?.GetValue<string>());
    }

    private async Task<Answer> GrpcAsync(ModelInferRequest request, Metadata? headers = null, string trailer = "x-variant")
    {
        using var call = GrpcClient.ModelInferAsync(request, headers);
        var response = await call.ResponseAsync;
        var variant = call.GetTrailers().GetValue(trailer);
        return new Answer(response.ModelName, response.ModelVersion, variant,
            response.Parameters.TryGetValue("variant", out var parameter) ? parameter.StringParam : null);
    }

    // stable is version 1, canary version 2; a variant's name travels in the header (trailer) and the parameter alike.
    private static void AssertIncomeVariant(Answer answer)
    {
        Assert.Equal("income", answer.Model);
        Assert.Equal(answer.Version == "1" ? "stable" : "canary", answer.Variant);
        Assert.Equal(answer.Variant, answer.Parameter);
    }

    [Fact]
    public async Task Rest_requests_are_split_over_the_variants_and_each_answer_names_its_variant_and_version()
    {
        var versions = new HashSet<string>();
        for (var i = 0; i < 60; i++)
        {
            var answer = await RestAsync("/v2/models/income/infer", Json());
            AssertIncomeVariant(answer);
            versions.Add(answer.Version);
        }
        Assert.Equal(["1", "2"], versions.Order());
    }

    [Fact]
    public async Task Grpc_requests_are_split_over_the_variants_and_each_answer_names_its_variant_in_a_trailer()
    {
        var versions = new HashSet<string>();
        for (var i = 0; i < 60; i++)
        {
            var answer = await GrpcAsync(GrpcRequest("income"));
            AssertIncomeVariant(answer);
            versions.Add(answer.Version);
        }
        Assert.Equal(["1", "2"], versions.Order());
    }

    [Fact]
    public async Task The_forcing_header_picks_the_variant_over_both_protocols_and_an_unknown_one_is_refused_naming_the_variants()
    {
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(new Answer("income", "2", "canary", "canary"), await RestAsync("/v2/models/income/infer", Json(), ("x-variant", "canary")));
            Assert.Equal(new Answer("income", "1", "stable", "stable"), await GrpcAsync(GrpcRequest("income"), new Metadata { { "x-variant", "stable" } }));
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/income/infer") { Content = new StringContent(Json()) };
        request.Headers.Add("x-variant", "blue");
        using var refused = await fixture.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        const string Message = "header 'x-variant' names variant 'blue', which route 'income' does not have; its variants are: stable, canary";
        Assert.Equal(Message, JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]!.GetValue<string>());
        var error = await Assert.ThrowsAsync<RpcException>(() => GrpcAsync(GrpcRequest("income"), new Metadata { { "x-variant", "blue" } }));
        Assert.Equal((StatusCode.InvalidArgument, Message), (error.StatusCode, error.Status.Detail));
    }

    [Fact]
    public async Task A_named_version_bypasses_the_route_and_answers_without_a_variant()
    {
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(new Answer("income", "1", null, null), await RestAsync("/v2/models/income/versions/1/infer", Json(), ("x-variant", "canary")));
            Assert.Equal(new Answer("income", "2", null, null), await GrpcAsync(GrpcRequest("income", version: "2"), new Metadata { { "x-variant", "stable" } }));
        }
    }

    [Fact]
    public async Task A_key_in_the_parameter_sticks_to_one_variant_and_routes_alike_over_both_protocols()
    {
        var seen = new HashSet<string>();
        for (var user = 0; user < 30; user++)
        {
            var key = $"user-{user}";
            var first = await RestAsync("/v2/models/income/infer", Json(parameters: $"\"parameters\": {{\"routing_key\": \"{key}\"}}, "));
            AssertIncomeVariant(first);
            seen.Add(first.Variant!);
            for (var again = 0; again < 3; again++)
            {
                Assert.Equal(first, await RestAsync("/v2/models/income/infer", Json(parameters: $"\"parameters\": {{\"routing_key\": \"{key}\"}}, ")));
                Assert.Equal(first, await GrpcAsync(GrpcRequest("income", routingKey: key)));
            }
        }
        Assert.Equal(["canary", "stable"], seen.Order());
    }

    [Fact]
    public async Task A_key_in_the_header_sticks_to_one_variant_over_both_protocols()
    {
        var seen = new HashSet<string>();
        for (var user = 0; user < 30; user++)
        {
            var key = $"user-{user}";
            var first = await RestAsync("/v2/models/income/infer", Json(), ("x-user", key));
            seen.Add(first.Variant!);
            for (var again = 0; again < 3; again++)
            {
                Assert.Equal(first, await RestAsync("/v2/models/income/infer", Json(), ("x-user", key)));
                Assert.Equal(first, await GrpcAsync(GrpcRequest("income"), new Metadata { { "x-user", key } }));
            }
        }
        Assert.Equal(["canary", "stable"], seen.Order());
    }

    // The same model answers as either variant here, so which answered shows in model_name and the variant.
    private static void AssertAbVariant(Answer answer)
    {
        Assert.Equal(answer.Model == "income" ? "mlp" : "copy", answer.Variant);
        Assert.Equal(answer.Variant, answer.Parameter);
        Assert.Equal("1", answer.Version);
    }

    [Fact]
    public async Task A_key_in_an_input_tensor_sticks_to_one_variant_over_json_raw_binary_and_grpc_on_a_route_over_two_models()
    {
        var seen = new HashSet<string>();
        for (var user = 0; user < 30; user++)
        {
            var value = user / 100f;
            var first = await RestAsync("/v2/models/income_ab/infer", Json(value));
            AssertAbVariant(first);
            seen.Add(first.Model);
            for (var again = 0; again < 3; again++)
            {
                Assert.Equal(first, await RestAsync("/v2/models/income_ab/infer", Json(value)));
                Assert.Equal(first, await GrpcAsync(GrpcRequest("income_ab", value), trailer: "x-arm"));
                // A raw body is decoded with the route's (primary's) config, then routed by its input.
                var content = new ByteArrayContent(Features(value).SelectMany(BitConverter.GetBytes).ToArray());
                content.Headers.ContentType = new("application/octet-stream");
                content.Headers.Add("Inference-Header-Content-Length", "0");
                var raw = await BinaryResponse.ReadAsync(await fixture.Client.PostAsync("/v2/models/income_ab/infer", content));
                Assert.Equal(HttpStatusCode.OK, raw.Response.StatusCode);
                Assert.Equal(first, Read(raw.Response, raw.Json!));
                Assert.Equal(4, Assert.Single(raw.Binary).Value.Length);
            }
        }
        // Both models answered: mlp is income's version 1, copy is income_copy's newest (its only) version.
        Assert.Equal(["income", "income_copy"], seen.Order());
        Assert.Equal(new Answer("income_copy", "1", "copy", "copy"), await RestAsync("/v2/models/income_ab/infer", Json(0.5f), ("x-arm", "copy")));
        Assert.Equal(new Answer("income", "1", "mlp", "mlp"), await GrpcAsync(GrpcRequest("income_ab", 0.5f), new Metadata { { "x-arm", "mlp" } }, "x-arm"));
    }

    // A batch of income_ab's rows, each row's first feature (its routing key) given.
    private static string JsonRows(params float[] firsts) => $$"""
        {"inputs": [{"name": "features", "datatype": "FP32", "shape": [{{firsts.Length}}, {{Width}}],
          "data": [{{string.Join(",", firsts.SelectMany(Features).Select(v => v.ToString(CultureInfo.InvariantCulture)))}}]}]}
        """;

    private static ModelInferRequest GrpcRows(params float[] firsts)
    {
        var request = new ModelInferRequest { ModelName = "income_ab" };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "features", Datatype = "FP32", Shape = { firsts.Length, Width } });
        request.RawInputContents.Add(ByteString.CopyFrom(firsts.SelectMany(Features).SelectMany(BitConverter.GetBytes).ToArray()));
        return request;
    }

    [Fact]
    public async Task A_batch_whose_rows_share_the_key_input_goes_where_the_key_goes_and_one_that_mixes_keys_is_refused_over_both_protocols()
    {
        // Rows of one key: routed as a request of that key, over either protocol.
        for (var user = 0; user < 10; user++)
        {
            var value = user / 100f;
            var single = await RestAsync("/v2/models/income_ab/infer", Json(value));
            Assert.Equal(single, await RestAsync("/v2/models/income_ab/infer", JsonRows(value, value, value)));
            Assert.Equal(single, await GrpcAsync(GrpcRows(value, value, value), trailer: "x-arm"));
        }

        // Rows of two keys: refused, naming the input and the rows, rather than sending the second key where the first goes.
        const string Message = "input 'features' is the routing key of route 'income_ab', and its rows carry different keys: row 0 has '0.25', "
            + "row 2 has '0.5'; a request is routed as a whole, so send the rows of each key as a request of its own";
        using var refused = await fixture.Client.PostAsync("/v2/models/income_ab/infer",
            new StringContent(JsonRows(0.25f, 0.25f, 0.5f), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal(Message, JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]!.GetValue<string>());
        var error = await Assert.ThrowsAsync<RpcException>(() => GrpcAsync(GrpcRows(0.25f, 0.25f, 0.5f), trailer: "x-arm"));
        Assert.Equal((StatusCode.InvalidArgument, Message), (error.StatusCode, error.Status.Detail));

        // A variant forced by the header takes the whole batch: its rows' keys are not read.
        var forced = await RestAsync("/v2/models/income_ab/infer", JsonRows(0.25f, 0.5f), ("x-arm", "copy"));
        Assert.Equal(new Answer("income_copy", "1", "copy", "copy"), forced);
    }

    [Fact]
    public async Task A_routes_metadata_and_config_are_its_primarys_over_both_protocols()
    {
        var (response, metadata) = await fixture.Client.GetJsonAsync("/v2/models/income_ab");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("income_ab", metadata!["name"]!.GetValue<string>());
        // The versions a named version may take: those of the primary's model (income), whose version 1 describes the route.
        Assert.Equal(["1", "2"], metadata["versions"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal("features", metadata["inputs"]![0]!["name"]!.GetValue<string>());
        var (_, config) = await fixture.Client.GetJsonAsync("/v2/models/income_ab/config");
        var (_, primary) = await fixture.Client.GetJsonAsync("/v2/models/income/versions/1/config");
        Assert.Equal(primary!.ToJsonString(), config!.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, (await fixture.Client.GetAsync("/v2/models/income_ab/ready")).StatusCode);

        // Beside the model: every version the model serves, described by the primary (stable = v1) whatever the weights.
        var (_, income) = await fixture.Client.GetJsonAsync("/v2/models/income");
        Assert.Equal(["1", "2"], income!["versions"]!.AsArray().Select(v => v!.GetValue<string>()));

        var grpcMetadata = await GrpcClient.ModelMetadataAsync(new ModelMetadataRequest { Name = "income_ab" });
        Assert.Equal(("income_ab", "features"), (grpcMetadata.Name, grpcMetadata.Inputs[0].Name));
        Assert.Equal(["1", "2"], grpcMetadata.Versions);
        var grpcConfig = await GrpcClient.ModelConfigAsync(new ModelConfigRequest { Name = "income_ab" });
        Assert.Equal("income", grpcConfig.Config.Name);
        Assert.True((await GrpcClient.ModelReadyAsync(new ModelReadyRequest { Name = "income_ab" })).Ready);
    }

    [Fact]
    public async Task The_metrics_count_each_routes_requests_per_variant()
    {
        await RestAsync("/v2/models/income/infer", Json(), ("x-variant", "canary"));
        await GrpcAsync(GrpcRequest("income_ab"), new Metadata { { "x-arm", "copy" } }, trailer: "x-arm");

        var metrics = await fixture.Running.MetricsClient.GetStringAsync("/metrics");
        var lines = metrics.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("inference_server_route_requests_total{route=\"income\",variant=\"canary\"} ", StringComparison.Ordinal) && !l.EndsWith(" 0", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("inference_server_route_requests_total{route=\"income_ab\",variant=\"copy\"} ", StringComparison.Ordinal) && !l.EndsWith(" 0", StringComparison.Ordinal));
        Assert.Contains("inference_server_route_variant_weight{route=\"income\",variant=\"stable\"} 50", lines);
        Assert.Contains(lines, l => l.StartsWith("inference_server_route_request_duration_us_bucket{route=\"income\",variant=\"canary\",le=\"+Inf\"} ", StringComparison.Ordinal));
    }
}
