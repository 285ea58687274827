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
        var inFlight = client.PostJsonAsync("/v2/models/slow/infer",
            $$"""{"inputs": [{"name": "X", "datatype": "FP32", "shape": [64, 64], "data": [{{x}}]}, {"name": "ITERATIONS", "datatype": "INT64", "shape": [1], "data": [200000]}]}""");

        // Give the request time to reach the model, then stop the server under it.
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.False(inFlight.IsCompleted, "the slow request finished before the test could stop the server; raise ITERATIONS");
        await server.Host.DisposeAsync();

        var (response, body) = await inFlight;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(64 * 64, body!["outputs"]![0]!["data"]!.AsArray().Count);
        Assert.True(stopwatch.Elapsed > TimeSpan.FromMilliseconds(500), "the request ended before the server was stopped");
    }
}
