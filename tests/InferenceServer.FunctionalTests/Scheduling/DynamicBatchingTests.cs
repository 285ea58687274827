using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using InferenceServer.FunctionalTests.Http;

namespace InferenceServer.FunctionalTests.Scheduling;

/// <summary>
/// The dynamic batcher behind a real server: real batches under concurrent load, and queue size,
/// timeouts, priorities and disconnects as configured, with a model that can be kept busy on purpose.
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed partial class DynamicBatchingTests
{
    private const string AddSubBatched = """
        max_batch_size: 8
        input [ { name: "INPUT0" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "INPUT1" data_type: TYPE_INT32 dims: [ 16 ] } ]
        output [ { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "OUTPUT1" data_type: TYPE_INT32 dims: [ 16 ] } ]
        dynamic_batching { max_queue_delay_microseconds: 50000 }
        """;

    // One request per batch: a request queued behind the busy one can never join its batch.
    private const string SlowTensors = """
        max_batch_size: 1
        input [ { name: "X" data_type: TYPE_FP32 dims: [ 64, 64 ] }, { name: "ITERATIONS" data_type: TYPE_INT64 dims: [ 1 ] } ]
        output [ { name: "Y" data_type: TYPE_FP32 dims: [ 64, 64 ] } ]
        """;

    private static string SlowRequest(long iterations, string parameters = "") => $$"""
        {"inputs": [{"name": "X", "datatype": "FP32", "shape": [1, 64, 64], "data": [{{string.Join(",", Enumerable.Repeat("0.01", 64 * 64))}}]},
                    {"name": "ITERATIONS", "datatype": "INT64", "shape": [1, 1], "data": [{{iterations}}]}]{{parameters}}}
        """;

    // Enough work to keep the only instance busy for seconds.
    private const long Busy = 500_000;

    // The queued requests' work, 1/25 of the busy request's: the order their answers reach the client is the order they
    // ran only while the gaps between them outlast the client's own scheduling. With 1,000 iterations (milliseconds
    // apart) a full run once saw busy,low2,low0,high,low1 while the same test passed alone.
    private const long Queued = 20_000;

    // Triton's queues, unbounded and without a timeout where the config sets none: requests here wait behind seconds of
    // work on purpose, past the server's default wait (and, once the busy request has run, its default bound).
    private static readonly (string, string)[] TritonQueues = [("Server:MaxQueueBatches", "0"), ("Server:MaxQueueWaitMilliseconds", "0")];

    [Fact]
    public async Task ConcurrentRequestsRunInRealBatchesAndEachGetsItsOwnResult()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubBatched);
        await using var server = await RunningServer.StartAsync(repository.Path);

        var requests = Enumerable.Range(0, 24).Select(async i =>
        {
            var (response, body) = await server.Client.PostJsonAsync("/v2/models/m/infer", $$"""
                {"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [1, 16], "data": [{{string.Join(",", Enumerable.Repeat(i, 16))}}]},
                            {"name": "INPUT1", "datatype": "INT32", "shape": [1, 16], "data": [{{string.Join(",", Enumerable.Repeat(1, 16))}}]}]}
                """);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var sum = body!["outputs"]!.AsArray().Single(o => o!["name"]!.GetValue<string>() == "OUTPUT0")!;
            Assert.All(sum["data"]!.AsArray(), v => Assert.Equal(i + 1, v!.GetValue<int>()));
        }).ToArray();
        await Task.WhenAll(requests);

        var (_, stats) = await server.Client.GetJsonAsync("/v2/models/m/stats");
        var model = stats!["model_stats"]![0]!;
        Assert.Equal(24, model["inference_count"]!.GetValue<int>());
        Assert.True(model["execution_count"]!.GetValue<int>() < 24, "24 concurrent requests should have shared executions");
        var batchSizes = model["batch_stats"]!.AsArray().Select(b => b!["batch_size"]!.GetValue<int>()).ToList();
        Assert.Contains(batchSizes, size => size > 1);

        var metrics = await server.MetricsClient.GetStringAsync("/metrics");
        Assert.Matches(BatchHistogramAboveOne(), metrics);
    }

    [Fact]
    public async Task AFullQueueAnswers503SayingSo()
    {
        using var repository = new TestRepository().AddFixture("slow", "slow_batch.onnx",
            SlowTensors + "dynamic_batching { default_queue_policy { max_queue_size: 2 } }\n");
        await using var server = await RunningServer.StartAsync(repository.Path, TritonQueues);

        var busy = await StartBusyAsync(server);
        var queued = new[] { server.Client.PostJsonAsync("/v2/models/slow/infer", SlowRequest(1)), server.Client.PostJsonAsync("/v2/models/slow/infer", SlowRequest(1)) };
        await WaitForPendingAsync(server, "slow", 2);

        var (full, error) = await server.Client.PostJsonAsync("/v2/models/slow/infer", SlowRequest(1));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, full.StatusCode);
        Assert.Contains("queue is full", error!["error"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.OK, (await busy).Response.StatusCode);
        Assert.All(await Task.WhenAll(queued), r => Assert.Equal(HttpStatusCode.OK, r.Response.StatusCode));
    }

    [Fact]
    public async Task ARequestWhoseTimeoutExpiresInTheQueueGetsAClearError()
    {
        using var repository = new TestRepository().AddFixture("slow", "slow_batch.onnx", SlowTensors + """
            dynamic_batching {
              default_queue_policy { timeout_action: REJECT default_timeout_microseconds: 60000000 allow_timeout_override: true }
            }
            """);
        await using var server = await RunningServer.StartAsync(repository.Path);

        var busy = await StartBusyAsync(server);
        var (expired, error) = await server.Client.PostJsonAsync("/v2/models/slow/infer", SlowRequest(1, """, "parameters": {"timeout": 100000}"""));

        // As Triton answers a queue timeout: UNAVAILABLE, REST 503, with the Retry-After of a request shed under load.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, expired.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), expired.Headers.RetryAfter?.Delta);
        Assert.Contains("timed out", error!["error"]!.GetValue<string>());
        Assert.False(busy.IsCompleted, "the expired request must have failed while the instance was still busy");
        Assert.Equal(HttpStatusCode.OK, (await busy).Response.StatusCode);
    }

    [Fact]
    public async Task AHighPriorityRequestOvertakesAQueueOfLowPriorityOnes()
    {
        // One request per batch, so the order of execution is the order of completion.
        using var repository = new TestRepository().AddFixture("slow", "slow_batch.onnx",
            SlowTensors + """
            dynamic_batching { priority_levels: 2 default_priority_level: 2 }
            """);
        await using var server = await RunningServer.StartAsync(repository.Path, TritonQueues);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/slow/ready")).StatusCode);
        // The busy request must still run when the high-priority one joins the queue; on a loaded machine queuing four
        // requests can outlast it, which proves nothing either way, so such an attempt is repeated with a longer one.
        for (var busyIterations = Busy; ; busyIterations *= 2)
        {
            var completions = new List<string>();
            async Task Send(string label, long iterations, int priority)
            {
                var (response, _) = await server.Client.PostJsonAsync("/v2/models/slow/infer", SlowRequest(iterations, $$""", "parameters": {"priority": {{priority}}}"""));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                lock (completions)
                {
                    completions.Add(label);
                }
            }

            var busy = Send("busy", busyIterations, 2);
            await Task.Delay(500);
            await WaitForPendingAsync(server, "slow", 0);
            var low = Enumerable.Range(0, 3).Select(i => Send($"low{i}", Queued, 2)).ToList();
            await WaitForPendingAsync(server, "slow", 3, () => $"busy done: {busy.IsCompleted}, completions: {string.Join(",", completions)}");
            var high = Send("high", Queued, 1);
            await WaitForPendingAsync(server, "slow", 4);
            var conclusive = !busy.IsCompleted;

            await Task.WhenAll([busy, high, .. low]);
            // Busy must also have been the one running while the queue formed: a loaded machine can deliver it after the
            // low ones (a queue that is empty because nothing arrived yet looks the same), which again proves nothing.
            conclusive &= completions[0].StartsWith("busy", StringComparison.Ordinal);
            if (!conclusive && busyIterations < 8 * Busy)
            {
                continue;
            }
            Assert.True(conclusive, "the busy request was not running while the queue was set up, even at " + busyIterations + " iterations; completed in order: " + string.Join(",", completions));
            Assert.True(completions[1].StartsWith("high", StringComparison.Ordinal), "completed in order: " + string.Join(",", completions));
            break;
        }
    }

    [Fact]
    public async Task AClientThatDisconnectsHasItsQueuedRequestRemoved()
    {
        using var repository = new TestRepository().AddFixture("slow", "slow_batch.onnx", SlowTensors + "dynamic_batching { }\n");
        await using var server = await RunningServer.StartAsync(repository.Path);

        var busy = await StartBusyAsync(server);
        using (var cancellation = new CancellationTokenSource())
        {
            var abandoned = server.Client.PostAsync("/v2/models/slow/infer", new StringContent(SlowRequest(1)), cancellation.Token);
            await WaitForPendingAsync(server, "slow", 1);
            await cancellation.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        }
        await WaitForPendingAsync(server, "slow", 0);

        Assert.Equal(HttpStatusCode.OK, (await busy).Response.StatusCode);
        var metrics = await server.MetricsClient.GetStringAsync("/metrics");
        Assert.Matches(CanceledOnce(), metrics);
        var (_, stats) = await server.Client.GetJsonAsync("/v2/models/slow/stats");
        Assert.Equal(1, stats!["model_stats"]![0]!["execution_count"]!.GetValue<int>());
    }

    // The busy request is sent over a connection the client already has open, so it reaches the
    // server at once; half a second later it is surely running, and it runs for seconds more.
    private static async Task<Task<(HttpResponseMessage Response, JsonNode? Body)>> StartBusyAsync(RunningServer server)
    {
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/slow/ready")).StatusCode);
        var busy = server.Client.PostJsonAsync("/v2/models/slow/infer", SlowRequest(Busy));
        await Task.Delay(500);
        await WaitForPendingAsync(server, "slow", 0);
        if (busy.IsCompleted)
        {
            var (response, body) = await busy;
            Assert.Fail($"the busy request ended within half a second ({(int)response.StatusCode}: {body?.ToJsonString()[..Math.Min(200, body.ToJsonString().Length)]}); raise Busy");
        }
        return busy;
    }

    private static async Task WaitForPendingAsync(RunningServer server, string model, int expected, Func<string>? context = null)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        string? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var metrics = await server.MetricsClient.GetStringAsync("/metrics");
            var match = Regex.Match(metrics, $"^nv_inference_pending_request_count\\{{model=\"{model}\",version=\"1\"\\}} (\\d+)", RegexOptions.Multiline);
            last = match.Success ? match.Groups[1].Value : null;
            if (int.Parse(last ?? "0", CultureInfo.InvariantCulture) == expected)
            {
                return;
            }
            await Task.Delay(10);
        }
        Assert.Fail($"pending requests of '{model}' never reached {expected} (last seen: {last ?? "none"}) {context?.Invoke()}");
    }

    [GeneratedRegex("^nv_inference_batch_size_histogram_count\\{[^}]*model=\"m\"[^}]*\\} ([2-9]|1\\d|2[0-3])$", RegexOptions.Multiline)]
    private static partial Regex BatchHistogramAboveOne();

    [GeneratedRegex("^nv_inference_request_failure\\{[^}]*reason=\"CANCELED\"[^}]*\\} 1$", RegexOptions.Multiline)]
    private static partial Regex CanceledOnce();
}
