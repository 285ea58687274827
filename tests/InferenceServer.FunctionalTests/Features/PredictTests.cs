using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Grpc.Core;
using InferenceServer.FunctionalTests.Http;
using InferenceServer.Protocols.Grpc.Messages;

namespace InferenceServer.FunctionalTests.Features;

/// <summary>
/// Raw records through income's feature view, over REST (predict, and infer with a record parameter) and gRPC
/// (ModelInfer with record.* parameters): the probability is exactly what a plain infer of the same encoded features
/// gives, the label follows the view's threshold, and what the view cannot use is refused naming it. Without a
/// sidecar, an entity is refused with 503 naming the missing flag.
/// </summary>
public sealed class PredictTests(IncomeFeaturesFixture fixture) : IClassFixture<IncomeFeaturesFixture>
{
    private GRPCInferenceService.GRPCInferenceServiceClient Grpc => new(fixture.Channel);

    private async Task<float[]> PlainProbabilitiesAsync(string model, params JsonObject[] records)
    {
        var features = records.SelectMany(IncomeRecords.Encode).ToArray();
        return IncomeRecords.Probabilities(await Grpc.ModelInferAsync(IncomeRecords.PlainInfer(model, features)));
    }

    private static string Label(float probability) => probability >= 0.5f ? ">50K" : "<=50K";

    private async Task<JsonNode> PredictAsync(string path, JsonObject body)
    {
        var (response, json) = await fixture.Client.PostJsonAsync(path, body.ToJsonString());
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {json?.ToJsonString()}");
        return json!;
    }

    [Fact]
    public async Task A_raw_record_predicts_over_REST_exactly_as_a_plain_infer_of_its_encoding()
    {
        for (var i = 0; i < 2; i++)
        {
            var record = IncomeRecords.Record(i);
            var expected = (await PlainProbabilitiesAsync("income", record))[0];

            var answer = await PredictAsync("/v2/models/income/predict", new JsonObject { ["record"] = record });

            Assert.Equal("income", answer["model_name"]!.GetValue<string>());
            Assert.Equal("1", answer["model_version"]!.GetValue<string>());
            Assert.Equal(1, answer["feature_view_version"]!.GetValue<long>());
            var outputs = answer["outputs"]!.AsObject();
            Assert.Equal(expected, outputs["probability"]!.GetValue<float>());
            Assert.Equal(Label(expected), outputs["prediction"]!.GetValue<string>());
            Assert.Equal(IncomeRecords.GeneratedProbability(i), expected, 3);
            Assert.True(answer["server_latency_us"]!.GetValue<long>() > 0);
        }
    }

    [Fact]
    public async Task Records_in_a_list_predict_row_by_row_in_one_request()
    {
        var records = new[] { IncomeRecords.Record(0), IncomeRecords.Record(1) };
        var expected = await PlainProbabilitiesAsync("income", records);

        var answer = await PredictAsync("/v2/models/income/versions/1/predict",
            new JsonObject { ["id"] = "list-1", ["records"] = new JsonArray(records[0].DeepClone(), records[1].DeepClone()) });

        Assert.Equal("list-1", answer["id"]!.GetValue<string>());
        var rows = answer["outputs"]!.AsArray();
        Assert.Equal(2, rows.Count);
        Assert.Equal([">50K", "<=50K"], rows.Select(r => r!["prediction"]!.GetValue<string>()));
        Assert.Equal(expected, rows.Select(r => r!["probability"]!.GetValue<float>()));
    }

    [Fact]
    public async Task An_infer_whose_parameters_carry_a_record_gets_its_inputs_from_the_view()
    {
        var record = IncomeRecords.Record(0);
        var expected = (await PlainProbabilitiesAsync("income", record))[0];

        var (response, json) = await fixture.Client.PostJsonAsync("/v2/models/income/infer",
            new JsonObject { ["parameters"] = new JsonObject { ["record"] = record } }.ToJsonString());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var output = Assert.Single(json!["outputs"]!.AsArray())!;
        Assert.Equal("[1,1]", output["shape"]!.ToJsonString());
        Assert.Equal(expected, output["data"]![0]!.GetValue<float>());
        Assert.Equal(">50K", json["parameters"]!["prediction"]!.GetValue<string>());
        Assert.Equal(1, json["parameters"]!["feature_view_version"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_gRPC_infer_with_record_parameters_answers_with_the_prediction_parameter()
    {
        for (var i = 0; i < 2; i++)
        {
            var record = IncomeRecords.Record(i);
            var expected = await PlainProbabilitiesAsync("income", record);
            var request = new ModelInferRequest { ModelName = "income" };
            IncomeRecords.AddRecordParameters(request, record);

            var response = await Grpc.ModelInferAsync(request);

            Assert.Equal(expected, IncomeRecords.Probabilities(response));
            Assert.Equal(Label(expected[0]), response.Parameters["prediction"].StringParam);
            Assert.Equal(1, response.Parameters["feature_view_version"].Int64Param);
        }
    }

    [Fact]
    public async Task A_route_predicts_through_the_view_of_its_primary_and_names_the_variant()
    {
        var record = IncomeRecords.Record(0);
        var seen = new HashSet<string>();
        for (var i = 0; i < 40 && seen.Count < 2; i++)
        {
            var answer = await PredictAsync("/v2/models/income_ab/predict",
                new JsonObject { ["record"] = record.DeepClone(), ["parameters"] = new JsonObject { ["routing_key"] = $"user-{i}" } });
            var variant = answer["variant"]!.GetValue<string>();
            seen.Add(variant);
            Assert.Equal(variant, answer["model_name"]!.GetValue<string>());
            var expected = (await PlainProbabilitiesAsync(variant, record))[0];
            Assert.Equal(expected, answer["outputs"]!["probability"]!.GetValue<float>());
        }
        Assert.Equal(["income", "income_gbt"], seen.Order());
    }

    [Theory]
    [InlineData("""{"record": {"age": 52, "salary": 1}}""", "'salary' is not a field of feature view 'income'")]
    [InlineData("""{"record": {"age": "old", "education_num": 14, "hours_per_week": 50, "capital_gain": 0, "capital_loss": 0}}""", "field 'age'")]
    [InlineData("""{"record": {"workclass": "Private"}}""", "field 'age'")]
    [InlineData("""{"record": {"age": [52]}}""", "record.age must be a string, a number, true or false")]
    [InlineData("""{"record": {}}""", "record is empty")]
    [InlineData("""{"entity": {"user": "7"}}""", "'user' is not an entity key of feature view 'income'")]
    [InlineData("""{"records": []}""", "'records' is empty")]
    [InlineData("""{"record": {"age": 52}, "records": [{"age": 52}]}""", "not both")]
    [InlineData("""{"inputs": []}""", "'inputs' is not a predict field")]
    [InlineData("""[1]""", "must be a JSON object")]
    public async Task What_the_view_cannot_use_is_refused_400_naming_it(string body, string expected)
    {
        var (response, json) = await fixture.Client.PostJsonAsync("/v2/models/income/predict", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(expected, json!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_gRPC_record_with_an_unknown_field_is_invalid_argument_naming_it()
    {
        var request = new ModelInferRequest { ModelName = "income" };
        IncomeRecords.AddRecordParameters(request, IncomeRecords.Record(0));
        request.Parameters.Add("record.salary", new InferParameter { Int64Param = 1 });

        var error = await Assert.ThrowsAsync<RpcException>(async () => await Grpc.ModelInferAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("'salary' is not a field of feature view 'income'", error.Status.Detail);
    }

    [Fact]
    public async Task Without_a_sidecar_an_entity_is_refused_503_naming_the_missing_flag()
    {
        var (response, json) = await fixture.Client.PostJsonAsync("/v2/models/income/predict", """{"entity": {"id": "7"}}""");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("--feature-sidecar", json!["error"]!.GetValue<string>());

        var request = new ModelInferRequest { ModelName = "income" };
        request.Parameters.Add("entity.id", new InferParameter { StringParam = "7" });
        var error = await Assert.ThrowsAsync<RpcException>(async () => await Grpc.ModelInferAsync(request));
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Contains("--feature-sidecar", error.Status.Detail);
    }

    [Fact]
    public async Task A_model_without_a_view_refuses_records_naming_what_it_lacks()
    {
        var (response, json) = await fixture.Client.PostJsonAsync("/v2/models/simple/predict", """{"record": {"x": 1}}""");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("'simple' has no feature view", json!["error"]!.GetValue<string>());

        var (infer, inferJson) = await fixture.Client.PostJsonAsync("/v2/models/simple/infer", """{"parameters": {"record": {"x": 1}}}""");
        Assert.Equal(HttpStatusCode.BadRequest, infer.StatusCode);
        Assert.Contains("'simple' has no feature view", inferJson!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task Every_request_the_view_handles_is_counted_by_outcome()
    {
        async Task<double> CountAsync(string outcome)
        {
            var text = await fixture.Running.MetricsClient.GetStringAsync("/metrics");
            var line = text.Split('\n').FirstOrDefault(l => l.StartsWith($"inference_server_feature_requests_total{{view=\"income\",outcome=\"{outcome}\"}}", StringComparison.Ordinal));
            return line is null ? 0 : double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
        }
        var ok = await CountAsync("ok");
        var invalid = await CountAsync("invalid");
        var unavailable = await CountAsync("unavailable");

        await PredictAsync("/v2/models/income/predict", new JsonObject { ["record"] = IncomeRecords.Record(1) });
        await fixture.Client.PostJsonAsync("/v2/models/income/predict", """{"record": {"salary": 1}}""");
        await fixture.Client.PostJsonAsync("/v2/models/income/predict", """{"entity": {"id": "7"}}""");

        // The tests of a class run one at a time, so these are the only requests meanwhile.
        Assert.Equal(ok + 1, await CountAsync("ok"));
        Assert.Equal(invalid + 1, await CountAsync("invalid"));
        Assert.Equal(unavailable + 1, await CountAsync("unavailable"));
    }
}
