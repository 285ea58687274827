using System.Net;
using System.Text.Json.Nodes;
using Grpc.Core;
using InferenceServer.FunctionalTests.Http;
using InferenceServer.Protocols.Grpc.Messages;

namespace InferenceServer.FunctionalTests.Features;

/// <summary>
/// Entities through income's feature view and a sidecar on a real Unix socket (a stand-in speaking the wire, with a
/// dictionary for a store): the stored record predicts exactly as a plain infer of its encoding, a request's own
/// fields win over the stored ones, a list's entities go to the sidecar in one lookup, and each failure is answered
/// as the view says: 404 for an entity not found, 400 for a value past its TTL, 503 naming the sidecar for a store
/// that is down.
/// </summary>
public sealed class EntityPredictTests(FakeStoreSidecarFixture fixture) : IClassFixture<FakeStoreSidecarFixture>
{
    private GRPCInferenceService.GRPCInferenceServiceClient Grpc => new(fixture.Channel);

    private async Task<float> PlainProbabilityAsync(JsonObject record) =>
        IncomeRecords.Probabilities(await Grpc.ModelInferAsync(IncomeRecords.PlainInfer("income", IncomeRecords.Encode(record))))[0];

    private async Task<(HttpStatusCode Status, JsonNode? Body)> PredictAsync(string body)
    {
        var (response, json) = await fixture.Client.PostJsonAsync("/v2/models/income/predict", body);
        return (response.StatusCode, json);
    }

    [Fact]
    public async Task A_stored_entity_predicts_exactly_as_a_plain_infer_of_its_record_over_REST_and_gRPC()
    {
        foreach (var (id, index) in new[] { ("7", 0), ("8", 1) })
        {
            var expected = await PlainProbabilityAsync(IncomeRecords.Record(index));

            var (status, answer) = await PredictAsync($$$"""{"entity": {"id": "{{{id}}}"}}""");
            Assert.True(status == HttpStatusCode.OK, answer?.ToJsonString());
            Assert.Equal(expected, answer!["outputs"]!["probability"]!.GetValue<float>());
            Assert.Equal(expected >= 0.5f ? ">50K" : "<=50K", answer["outputs"]!["prediction"]!.GetValue<string>());

            var request = new ModelInferRequest { ModelName = "income" };
            request.Parameters.Add("entity.id", new InferParameter { StringParam = id });
            var grpc = await Grpc.ModelInferAsync(request);
            Assert.Equal(expected, IncomeRecords.Probabilities(grpc)[0]);
            Assert.Equal(expected >= 0.5f ? ">50K" : "<=50K", grpc.Parameters["prediction"].StringParam);
        }
    }

    [Fact]
    public async Task A_request_s_own_fields_win_over_the_stored_ones()
    {
        var record = IncomeRecords.Record(0);
        record["hours_per_week"] = 10;
        record["occupation"] = "Farming-fishing";
        var expected = await PlainProbabilityAsync(record);

        var (status, answer) = await PredictAsync("""{"entity": {"id": "7"}, "record": {"hours_per_week": 10, "occupation": "Farming-fishing"}}""");

        Assert.True(status == HttpStatusCode.OK, answer?.ToJsonString());
        Assert.Equal(expected, answer!["outputs"]!["probability"]!.GetValue<float>());
    }

    [Fact]
    public async Task A_list_of_entities_is_one_lookup_and_answers_row_by_row()
    {
        var before = fixture.Sidecar.Received.Count;
        var expected = new[] { await PlainProbabilityAsync(IncomeRecords.Record(1)), await PlainProbabilityAsync(IncomeRecords.Record(0)) };

        var (status, answer) = await PredictAsync("""{"entities": [{"id": "8"}, {"id": "7"}]}""");

        Assert.True(status == HttpStatusCode.OK, answer?.ToJsonString());
        Assert.Equal(expected, answer!["outputs"]!.AsArray().Select(o => o!["probability"]!.GetValue<float>()));
        var lookup = Assert.Single(fixture.Sidecar.Received.Skip(before));
        Assert.Equal(["income:8", "income:7"], lookup.Keys);
        Assert.Equal("income", lookup.View);
        // The view's lookup timeout travels with it.
        Assert.InRange(lookup.TimeoutMilliseconds, 1u, FakeStoreSidecarFixture.LookupTimeoutMs);
    }

    [Fact]
    public async Task An_entity_the_store_does_not_have_is_not_found_naming_it()
    {
        var (status, answer) = await PredictAsync("""{"entity": {"id": "999"}}""");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("entity 'income:999' is not in the online store of feature view 'income'", answer!["error"]!.GetValue<string>());

        var request = new ModelInferRequest { ModelName = "income" };
        request.Parameters.Add("entity.id", new InferParameter { StringParam = "999" });
        var error = await Assert.ThrowsAsync<RpcException>(async () => await Grpc.ModelInferAsync(request));
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task A_stored_value_past_its_TTL_counts_as_missing()
    {
        var (status, answer) = await PredictAsync("""{"entity": {"id": "old"}}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var message = answer!["error"]!.GetValue<string>();
        Assert.Contains("field 'age'", message);
        Assert.Contains("expired", message);
        // A value the request gives itself is not subject to the store's TTL.
        var record = IncomeRecords.Record(0);
        var (fresh, freshAnswer) = await PredictAsync(new JsonObject { ["entity"] = new JsonObject { ["id"] = "old" }, ["record"] = record }.ToJsonString());
        Assert.True(fresh == HttpStatusCode.OK, freshAnswer?.ToJsonString());
    }

    [Fact]
    public async Task A_store_that_is_down_is_503_naming_the_sidecar_and_why()
    {
        var (status, answer) = await PredictAsync("""{"entity": {"id": "down"}}""");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        var message = answer!["error"]!.GetValue<string>();
        Assert.Contains($"the feature sidecar at unix:{fixture.SocketPath}", message);
        Assert.Contains("circuit breaker is open", message);
    }

    [Fact]
    public async Task The_lookups_and_the_connection_show_in_the_metrics()
    {
        await PredictAsync("""{"entity": {"id": "7"}}""");
        var text = await fixture.Running.MetricsClient.GetStringAsync("/metrics");
        var lines = text.Split('\n');

        Assert.Contains("inference_server_feature_sidecar_connected 1", lines);
        Assert.Contains(lines, l => l.StartsWith("inference_server_feature_lookup_duration_us_count{view=\"income\"} ", StringComparison.Ordinal) && !l.EndsWith(" 0", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("inference_server_feature_requests_total{view=\"income\",outcome=\"ok\"} ", StringComparison.Ordinal));
    }
}
