using System.Net;
using System.Text.Json.Nodes;
using InferenceServer.FunctionalTests.Http;

namespace InferenceServer.FunctionalTests.Features;

/// <summary>
/// Predict requests go through the dynamic batcher like any infer: concurrent raw records share executions, and each
/// answer is its own record's, as a plain infer of its encoding gives it.
/// </summary>
public sealed class PredictBatchingTests
{
    [Fact]
    public async Task Concurrent_predicts_share_batches_and_each_gets_its_own_answer()
    {
        using var repository = new TestRepository().AddSample("income");
        File.AppendAllText(Path.Combine(repository.Path, "income", "config.pbtxt"), "dynamic_batching { max_queue_delay_microseconds: 50000 }\n");
        await using var server = await RunningServer.StartAsync(repository.Path, ("Server:MaxQueueBatches", "0"));
        var records = Enumerable.Range(0, 24).Select(i =>
        {
            var record = IncomeRecords.Record(i % 2);
            record["age"] = 20 + i;
            return record;
        }).ToArray();

        var answers = await Task.WhenAll(records.Select(async record =>
        {
            var (response, body) = await server.Client.PostJsonAsync("/v2/models/income/predict", new JsonObject { ["record"] = record.DeepClone() }.ToJsonString());
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return body!["outputs"]!["probability"]!.GetValue<float>();
        }));

        var (_, stats) = await server.Client.GetJsonAsync("/v2/models/income/stats");
        var model = stats!["model_stats"]![0]!;
        Assert.Equal(24, model["inference_count"]!.GetValue<int>());
        Assert.True(model["execution_count"]!.GetValue<int>() < 24, "24 concurrent predicts should have shared executions");
        // A row's answer is its own: a plain infer of all 24 encodings gives the same, up to the last bits a batch of
        // another size may round differently (exactness is tested one request at a time).
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var client = new Protocols.Grpc.Messages.GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var plain = IncomeRecords.Probabilities(await client.ModelInferAsync(IncomeRecords.PlainInfer("income", [.. records.SelectMany(IncomeRecords.Encode)])));
        for (var i = 0; i < answers.Length; i++)
        {
            Assert.True(Math.Abs(plain[i] - answers[i]) < 1e-6, $"record {i}: predict {answers[i]}, plain infer {plain[i]}");
        }
    }
}
