using System.Net;
using InferenceServer.FunctionalTests.Http;

namespace InferenceServer.FunctionalTests.Hosting;

[Collection(TimingSensitive.Name)]
public sealed class ShutdownTests
{
    private const string SlowConfig = """
        max_batch_size: 0
        input [ { name: "X" data_type: TYPE_FP32 dims: [ 64, 64 ] }, { name: "ITERATIONS" data_type: TYPE_INT64 dims: [ 1 ] } ]
        output [ { name: "Y" data_type: TYPE_FP32 dims: [ 64, 64 ] } ]
        """;

    [Fact]
    public async Task StoppingFinishesRequestsAlreadyInFlight()
    {
        using var repository = new TestRepository().AddFixture("slow", "slow.onnx", SlowConfig);
        await using var server = await RunningServer.StartAsync(repository.Path);
        var client = server.Client;
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();

        var x = string.Join(",", Enumerable.Repeat("0.01", 64 * 64));
        // A first request leaves an open connection in the client's pool, so the slow one below
        // needs no connect and reaches the model at once even on a busy machine.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v2/models/slow/ready")).StatusCode);
        // Give the request time to reach the model, then stop the server under it. How long the loop runs depends on the
        // machine (it ran in under 500 ms during a quiet full run); a request that finished first proves nothing, so the
        // attempt is repeated with a longer one.
        Task<(HttpResponseMessage Response, System.Text.Json.Nodes.JsonNode? Body)> inFlight;
        for (var iterations = 200_000L; ; iterations *= 2)
        {
            inFlight = client.PostJsonAsync("/v2/models/slow/infer",
                $$"""{"inputs": [{"name": "X", "datatype": "FP32", "shape": [64, 64], "data": [{{x}}]}, {"name": "ITERATIONS", "datatype": "INT64", "shape": [1], "data": [{{iterations}}]}]}""");
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            if (!inFlight.IsCompleted)
            {
                break;
            }
            var (early, earlyBody) = await inFlight;
            var text = earlyBody?.ToJsonString() ?? "";
            Assert.True(early.StatusCode == HttpStatusCode.OK && iterations < 3_200_000,
                $"the slow request ({iterations} iterations) finished before the test could stop the server ({(int)early.StatusCode}: {text[..Math.Min(300, text.Length)]})");
            stopwatch.Restart();
        }
        await server.Host.DisposeAsync();

        var (response, body) = await inFlight;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(64 * 64, body!["outputs"]![0]!["data"]!.AsArray().Count);
        Assert.True(stopwatch.Elapsed > TimeSpan.FromMilliseconds(500), "the request ended before the server was stopped");
    }
}
