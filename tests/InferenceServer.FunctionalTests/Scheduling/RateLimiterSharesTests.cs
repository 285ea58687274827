using System.Globalization;
using System.Text;
using InferenceServer.FunctionalTests.Http;
using Xunit.Abstractions;

namespace InferenceServer.FunctionalTests.Scheduling;

/// <summary>
/// Two models saturated at once (more concurrent clients than they can serve), each instance asking for the one copy of
/// a shared rate-limiter resource, with priorities 1 and 2: with <c>--rate-limit execution_count</c> each gets its
/// configured share of the executions (2/3 and 1/3) within 10%; without it neither waits for anything. Executions are
/// counted by the statistics extension, never from timings.
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed class RateLimiterSharesTests(ITestOutputHelper output)
{
    // Loop iterations of slow.onnx per execution: a few milliseconds, long beside a request's round trip, so that each
    // model's queue never runs dry and the limiter alone decides who runs.
    private const int Iterations = 300;

    // Concurrent clients per model: with one instance each, many always wait, even while a busy machine is slow to turn
    // an answer into the client's next request.
    private const int ClientsPerModel = 16;

    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(4);

    private static string Config(int priority) => $$"""
        backend: "onnxruntime"
        max_batch_size: 0
        input [ { name: "X" data_type: TYPE_FP32 dims: [ 64, 64 ] }, { name: "ITERATIONS" data_type: TYPE_INT64 dims: [ 1 ] } ]
        output [ { name: "Y" data_type: TYPE_FP32 dims: [ 64, 64 ] } ]
        instance_group [ { count: 1 kind: KIND_CPU rate_limiter { resources [ { name: "R" count: 1 } ] priority: {{priority}} } } ]
        """;

    private static readonly string Request = $$"""
        {"inputs": [{"name": "X", "datatype": "FP32", "shape": [64, 64], "data": [{{string.Join(",", Enumerable.Repeat("0.01", 64 * 64))}}]},
                    {"name": "ITERATIONS", "datatype": "INT64", "shape": [1], "data": [{{Iterations}}]}]}
        """;

    // Shedding and the queue timeout off: the model that waits longer must not see its requests refused.
    private static readonly (string, string)[] Unbounded = [("Server:MaxQueueBatches", "0"), ("Server:MaxQueueWaitMilliseconds", "0")];

    [Fact]
    public async Task WithTheLimiterEachModelGetsItsShareByPriority()
    {
        using var repository = new TestRepository().AddFixture("fast", "slow.onnx", Config(1)).AddFixture("slow", "slow.onnx", Config(2));
        await using var server = await RunningServer.StartAsync(repository.Path, [.. Unbounded, ("Server:RateLimit", "execution_count")]);

        var (fast, slow) = await SaturateAsync(server);

        var share = (double)fast / (fast + slow);
        output.WriteLine($"limiter on: fast (priority 1) {fast} executions, slow (priority 2) {slow}; shares {share:P1} / {1 - share:P1} (configured 66.7% / 33.3%)");
        Assert.True(fast + slow > 100, $"only {fast + slow} executions in the window: the test measured too little to say anything");
        Assert.InRange(share, 2.0 / 3 * 0.9, 2.0 / 3 * 1.1);
        Assert.InRange(1 - share, 1.0 / 3 * 0.9, 1.0 / 3 * 1.1);

        // Each model's wait for the resource is visible: the one with half the turns waits more.
        var metrics = await server.MetricsClient.GetStringAsync("/metrics");
        var fastWait = Sample(metrics, "nv_inference_resource_wait_duration_us", "fast");
        var slowWait = Sample(metrics, "nv_inference_resource_wait_duration_us", "slow");
        output.WriteLine($"resource wait: fast {fastWait / 1000:F0} ms over {Sample(metrics, "nv_inference_resource_wait_count", "fast")} waits, slow {slowWait / 1000:F0} ms over {Sample(metrics, "nv_inference_resource_wait_count", "slow")} waits");
        Assert.True(Sample(metrics, "nv_inference_resource_wait_count", "fast") > 0);
        Assert.True(Sample(metrics, "nv_inference_resource_wait_count", "slow") > 0);
    }

    [Fact]
    public async Task WithoutTheLimiterTheResourcesAndPrioritiesAreNotEnforced()
    {
        using var repository = new TestRepository().AddFixture("fast", "slow.onnx", Config(1)).AddFixture("slow", "slow.onnx", Config(2));
        await using var server = await RunningServer.StartAsync(repository.Path, Unbounded);

        var (fast, slow) = await SaturateAsync(server);

        // How the executions split now depends on the machine (both models run at once, each on its own instance), so only
        // what is certain is asserted: both ran, and no instance ever waited for a resource.
        var share = (double)fast / (fast + slow);
        output.WriteLine($"limiter off: fast {fast} executions, slow {slow}; shares {share:P1} / {1 - share:P1}");
        Assert.True(fast > 0 && slow > 0);
        var metrics = await server.MetricsClient.GetStringAsync("/metrics");
        // The help text is there (the instruments exist); no model has a series.
        Assert.DoesNotContain("nv_inference_resource_wait_count{", metrics);
        Assert.DoesNotContain("nv_inference_resource_wait_duration_us{", metrics);
    }

    // Keeps both models saturated, and counts each one's executions over the window after a warm-up.
    private static async Task<(long Fast, long Slow)> SaturateAsync(RunningServer server)
    {
        using var stop = new CancellationTokenSource();
        var clients = new List<Task<int>>();
        foreach (var model in new[] { "fast", "slow" })
        {
            for (var i = 0; i < ClientsPerModel; i++)
            {
                clients.Add(ClientAsync(server.Client, model, stop.Token));
            }
        }
        await Task.Delay(WarmUp);
        var (fast0, slow0) = (await ExecutionsAsync(server, "fast"), await ExecutionsAsync(server, "slow"));
        await Task.Delay(Window);
        var (fast1, slow1) = (await ExecutionsAsync(server, "fast"), await ExecutionsAsync(server, "slow"));
        await stop.CancelAsync();
        var failures = (await Task.WhenAll(clients)).Sum();
        Assert.Equal(0, failures);
        return (fast1 - fast0, slow1 - slow0);
    }

    // One client in a closed loop; returns how many of its requests failed.
    private static async Task<int> ClientAsync(HttpClient client, string model, CancellationToken stop)
    {
        var failures = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var content = new StringContent(Request, Encoding.UTF8, "application/json");
                using var response = await client.PostAsync($"/v2/models/{model}/infer", content, stop);
                if (!response.IsSuccessStatusCode)
                {
                    failures++;
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
        }
        return failures;
    }

    private static async Task<long> ExecutionsAsync(RunningServer server, string model)
    {
        var (_, stats) = await server.Client.GetJsonAsync($"/v2/models/{model}/stats");
        return stats!["model_stats"]![0]!["execution_count"]!.GetValue<long>();
    }

    // The value of a per-model series in the Prometheus text.
    private static double Sample(string metrics, string name, string model)
    {
        var prefix = $"{name}{{model=\"{model}\",version=\"1\"}} ";
        foreach (var line in metrics.Split('\n'))
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return double.Parse(line[prefix.Length..], CultureInfo.InvariantCulture);
            }
        }
        throw new Xunit.Sdk.XunitException($"no {prefix.Trim()} in the metrics");
    }
}
