using System.Collections.Concurrent;
using System.Net;
using InferenceServer.FunctionalTests.Http;
using static InferenceServer.FunctionalTests.Lifecycle.Lifecycle;

namespace InferenceServer.FunctionalTests.Lifecycle;

/// <summary>Changing only instance counts while requests flow, and warm-up before a version takes traffic.</summary>
[Collection(TimingSensitive.Name)]
public sealed class InstanceResizeAndWarmupTests
{
    private static readonly (string, string) Explicit = ("Server:ModelControlMode", "explicit");

    private static string Config(int instances, string batching) => AddSubConfig + $"\ninstance_group [ {{ count: {instances} kind: KIND_CPU }} ]\n" + batching;

    [Theory]
    [InlineData("")]
    [InlineData("dynamic_batching { max_queue_delay_microseconds: 1000 }")]
    public async Task AChangedInstanceCountGrowsAndShrinksTheVersionInPlaceUnderLoad(string batching)
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", Config(1, batching));
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit, ("Server:LoadModels:0", "m"));
        var version = server.Version("m", 1);
        var statistics = version.Statistics;
        var configPath = Path.Combine(repository.Path, "m", "config.pbtxt");

        using var stop = new CancellationTokenSource();
        var failures = new ConcurrentBag<string>();
        var answered = 0;
        var clients = Enumerable.Range(0, 4).Select(c => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var (response, body) = await server.Client.PostJsonAsync("/v2/models/m/infer", AddSubRequest(c * 1000 + i % 1000));
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    failures.Add($"{response.StatusCode}: {body?.ToJsonString()}");
                }
                Interlocked.Increment(ref answered);
            }
        })).ToArray();

        foreach (var count in new[] { 3, 1, 4, 2 })
        {
            await File.WriteAllTextAsync(configPath, Config(count, batching));
            var before = Volatile.Read(ref answered);
            Assert.Equal((HttpStatusCode.OK, ""), await RepositoryAsync(server.Client, "/v2/repository/models/m/load"));
            Assert.Equal(count, version.InstanceCount);
            var (_, config) = await server.Client.GetJsonAsync("/v2/models/m/config");
            Assert.Equal(count, config!["instance_group"]![0]!["count"]!.GetValue<int>());
            await PollModeTests.WaitUntilAsync(() => Volatile.Read(ref answered) > before + 20 || !failures.IsEmpty, "requests to go on after the resize");
        }
        await stop.CancelAsync();
        await Task.WhenAll(clients);

        Assert.Empty(failures);
        // The same version object kept serving: nothing was reloaded and its statistics went on counting.
        Assert.Same(version, server.Version("m", 1));
        Assert.Same(statistics, version.Statistics);
        Assert.Equal(Core.Models.ModelState.Ready, version.State);
        var (_, stats) = await server.Client.GetJsonAsync("/v2/models/m/stats");
        Assert.Equal(Volatile.Read(ref answered), ModelStats(stats!)["inference_count"]!.GetValue<int>());
    }

    [Fact]
    public async Task WarmupRunsOnEveryInstanceBeforeTheVersionIsReady()
    {
        // Warm-up data from a file: ITERATIONS is large enough that warming up takes a while.
        const long iterations = 150_000;
        using var repository = new TestRepository().AddFixture("slow", "slow.onnx", SlowConfig + """
            instance_group [ { count: 2 kind: KIND_CPU } ]
            model_warmup [ {
              name: "long"
              count: 2
              inputs { key: "X" value: { data_type: TYPE_FP32 dims: [ 64, 64 ] random_data: true } }
              inputs { key: "ITERATIONS" value: { data_type: TYPE_INT64 dims: [ 1 ] input_data_file: "iterations" } }
            } ]
            """);
        Directory.CreateDirectory(Path.Combine(repository.Path, "slow", "warmup"));
        await File.WriteAllBytesAsync(Path.Combine(repository.Path, "slow", "warmup", "iterations"), BitConverter.GetBytes(iterations));
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit);

        var load = RepositoryAsync(server.Client, "/v2/repository/models/slow/load");
        var notReady = 0;
        while (!load.IsCompleted)
        {
            // The version enters the snapshot only once warmed up: whenever it answers ready, every
            // warm-up execution has already run (the load's own answer may still be on its way).
            if ((await server.Client.GetAsync("/v2/models/slow/ready")).StatusCode == HttpStatusCode.OK)
            {
                Assert.Equal(2 * 2, server.Version("slow", 1).WarmupExecutions);
            }
            else
            {
                notReady++;
            }
            await Task.Delay(20);
        }
        Assert.Equal((HttpStatusCode.OK, ""), await load);
        Assert.True(notReady > 3, $"warm-up should take a while; the model was not ready at only {notReady} checks");

        var version = server.Version("slow", 1);
        Assert.Equal(2 * 2, version.WarmupExecutions);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/slow/ready")).StatusCode);
        // Warm-up is not traffic: the statistics start at zero.
        var (_, stats) = await server.Client.GetJsonAsync("/v2/models/slow/stats");
        Assert.Equal(0, ModelStats(stats!)["inference_count"]!.GetValue<int>());

        // Growing the instance group warms the new instance up too.
        var configPath = Path.Combine(repository.Path, "slow", "config.pbtxt");
        await File.WriteAllTextAsync(configPath, (await File.ReadAllTextAsync(configPath)).Replace("count: 2 kind", "count: 3 kind", StringComparison.Ordinal));
        Assert.Equal((HttpStatusCode.OK, ""), await RepositoryAsync(server.Client, "/v2/repository/models/slow/load"));
        Assert.Same(version, server.Version("slow", 1));
        Assert.Equal(3 * 2, version.WarmupExecutions);
    }

    [Fact]
    public async Task AFailingWarmupFailsTheLoadWithItsReasonAndKeepsWhatServes()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit, ("Server:LoadModels:0", "m"));
        var version = server.Version("m", 1);

        await File.WriteAllTextAsync(Path.Combine(repository.Path, "m", "config.pbtxt"), AddSubConfig + """
            model_warmup [ { name: "from_file" batch_size: 2
              inputs { key: "INPUT0" value: { data_type: TYPE_INT32 dims: [ 16 ] input_data_file: "missing" } }
              inputs { key: "INPUT1" value: { data_type: TYPE_INT32 dims: [ 16 ] zero_data: true } } } ]
            """);
        var (status, error) = await RepositoryAsync(server.Client, "/v2/repository/models/m/load");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("warm-up sample 'from_file'", error);
        Assert.Contains("missing", error);
        Assert.Same(version, server.Version("m", 1));
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));
    }
}
