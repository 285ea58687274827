using System.Net;
using InferenceServer.FunctionalTests.Http;
using static InferenceServer.FunctionalTests.Residency.Residency;

namespace InferenceServer.FunctionalTests.Residency;

/// <summary>
/// A CPU memory budget against a real server: loads evict the least recently used unpinned models, never one used within
/// the anti-thrash window, and a load that cannot fit fails naming the budget and the sizes. Each test model declares a
/// footprint of 100 MB (memory_footprint_bytes) so that what is charged does not depend on this machine's allocator.
/// </summary>
public sealed class EvictionTests
{
    [Fact]
    public async Task TheLeastRecentlyUsedModelIsEvictedAndLoadsAgainOnItsNextRequest()
    {
        using var repository = new TestRepository()
            .AddFixture("a", "add_sub.onnx", Config()).AddFixture("b", "add_sub.onnx", Config()).AddFixture("c", "add_sub.onnx", Config());
        await using var server = await RunningServer.StartAsync(repository.Path, OnDemand());

        Assert.Equal(HttpStatusCode.OK, (await InferAsync(server.Client, "a")).Status);
        Assert.Equal(HttpStatusCode.OK, (await InferAsync(server.Client, "b")).Status);
        // a is used again, so b is now the least recently used.
        await Task.Delay(20);
        Assert.Equal(HttpStatusCode.OK, (await InferAsync(server.Client, "a")).Status);
        Assert.Equal("a,b", await LoadedAsync(server.Client));

        var (status, cold, error, _) = await InferAsync(server.Client, "c");
        Assert.True(status == HttpStatusCode.OK, error);
        Assert.NotNull(cold);
        Assert.Equal("a,c", await LoadedAsync(server.Client));
        var rows = await VersionRowsAsync(server.Client);
        Assert.Contains("evicted", rows["b"]["reason"]!.GetValue<string>());
        // The index shows each footprint, the budget and the headroom.
        Assert.Equal(Footprint, rows["c"]["memory"]!["cpu_bytes"]!.GetValue<long>());
        Assert.Equal(TwoModels, rows["c"]["memory"]!["cpu_budget_bytes"]!.GetValue<long>());
        Assert.Equal(TwoModels - 2 * Footprint, rows["c"]["memory"]!["cpu_headroom_bytes"]!.GetValue<long>());

        // b comes back on its next request; a is the least recently used now.
        await Task.Delay(20);
        (status, cold, error, _) = await InferAsync(server.Client, "b");
        Assert.True(status == HttpStatusCode.OK && cold is not null, error);
        Assert.Equal("b,c", await LoadedAsync(server.Client));

        var metrics = await server.MetricsClient.GetStringAsync("/metrics");
        Assert.Contains($"nv_model_memory_bytes{{model=\"b\",version=\"1\",device=\"cpu\"}} {Footprint}", metrics);
        Assert.Contains($"nv_model_memory_budget_bytes{{device=\"cpu\"}} {TwoModels}", metrics);
        Assert.Contains($"nv_model_memory_headroom_bytes{{device=\"cpu\"}} {TwoModels - 2 * Footprint}", metrics);
        Assert.Contains("nv_model_eviction_count 2", metrics);
        Assert.DoesNotContain("model=\"a\",version=\"1\",device=\"cpu\"", metrics);
    }

    [Fact]
    public async Task APinnedModelIsNeverEvicted()
    {
        using var repository = new TestRepository()
            .AddFixture("a", "add_sub.onnx", Config(pinned: true)).AddFixture("b", "add_sub.onnx", Config())
            .AddFixture("c", "add_sub.onnx", Config()).AddFixture("d", "add_sub.onnx", Config());
        await using var server = await RunningServer.StartAsync(repository.Path, OnDemand());

        // a is loaded first and never used again: the least recently used, but pinned.
        foreach (var model in new[] { "a", "b", "c", "d" })
        {
            var (status, _, error, _) = await InferAsync(server.Client, model);
            Assert.True(status == HttpStatusCode.OK, $"{model}: {error}");
            await Task.Delay(20);
        }
        Assert.Equal("a,d", await LoadedAsync(server.Client));
    }

    [Fact]
    public async Task AModelUsedWithinTheWindowIsNotEvictedForAColdOne()
    {
        using var repository = new TestRepository()
            .AddFixture("a", "add_sub.onnx", Config()).AddFixture("b", "add_sub.onnx", Config()).AddFixture("c", "add_sub.onnx", Config());
        await using var server = await RunningServer.StartAsync(repository.Path, OnDemand(minIdleSeconds: 3600));

        Assert.Equal(HttpStatusCode.OK, (await InferAsync(server.Client, "a")).Status);
        Assert.Equal(HttpStatusCode.OK, (await InferAsync(server.Client, "b")).Status);

        var (status, _, error, response) = await InferAsync(server.Client, "c");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Contains("--eviction-min-idle", error);
        Assert.Contains("--model-memory-budget", error);
        // Nothing was evicted, and the warm models serve on.
        Assert.Equal("a,b", await LoadedAsync(server.Client));
        Assert.Equal(HttpStatusCode.OK, (await InferAsync(server.Client, "a")).Status);
    }

    [Fact]
    public async Task AColdModelWaitsForTheWindowToLetTheLeastRecentlyUsedGo()
    {
        using var repository = new TestRepository()
            .AddFixture("a", "add_sub.onnx", Config()).AddFixture("b", "add_sub.onnx", Config()).AddFixture("c", "add_sub.onnx", Config());
        await using var server = await RunningServer.StartAsync(repository.Path, OnDemand(minIdleSeconds: 1.5));

        Assert.Equal(HttpStatusCode.OK, (await InferAsync(server.Client, "a")).Status);
        Assert.Equal(HttpStatusCode.OK, (await InferAsync(server.Client, "b")).Status);

        // Both are in the window: c's request waits (within --cold-start-timeout-ms) until a, used first, leaves it.
        var (status, coldMs, error, _) = await InferAsync(server.Client, "c");
        Assert.True(status == HttpStatusCode.OK, error);
        Assert.NotNull(coldMs);
        Assert.InRange(coldMs!.Value, 1000, 30_000);
        Assert.Equal("b,c", await LoadedAsync(server.Client));
    }

    [Fact]
    public async Task ALoadThatCannotFitFailsNamingTheBudgetAndTheSizesAndLeavesNothingLoaded()
    {
        using var repository = new TestRepository()
            .AddFixture("a", "add_sub.onnx", Config(pinned: true)).AddFixture("big", "add_sub.onnx", Config(footprint: 200_000_000));
        await using var server = await RunningServer.StartAsync(repository.Path, OnDemand());
        Assert.Equal(HttpStatusCode.OK, (await InferAsync(server.Client, "a")).Status);

        var (status, _, error, _) = await InferAsync(server.Client, "big");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("model 'big' version 1 cannot load", error);
        Assert.Contains("--model-memory-budget of 250000000 bytes", error);
        Assert.Contains("needs 200000000 bytes", error);
        Assert.Contains("150000000 bytes", error); // what is free
        Assert.Contains("not pinned", error);

        // The repository API's load says the same; the index keeps the reason; the pinned model serves on.
        var (loadStatus, loadError) = await Lifecycle.Lifecycle.RepositoryAsync(server.Client, "/v2/repository/models/big/load");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, loadStatus);
        Assert.Contains("--model-memory-budget of 250000000 bytes", loadError);
        var rows = await VersionRowsAsync(server.Client);
        Assert.Equal("UNAVAILABLE", rows["big"]["state"]!.GetValue<string>());
        Assert.Contains("--model-memory-budget", rows["big"]["reason"]!.GetValue<string>());
        Assert.Null(rows["big"]["memory"]);
        Assert.Equal("a", await LoadedAsync(server.Client));
        Assert.Equal(HttpStatusCode.OK, (await InferAsync(server.Client, "a")).Status);
    }

    [Fact]
    public async Task RequestsInFlightOnAnEvictedModelFinishBeforeItsMemoryIsReleased()
    {
        using var repository = new TestRepository()
            .AddFixture("a", "add_sub.onnx", Config()).AddFixture("b", "add_sub.onnx", Config())
            .AddFixture("slow", "slow.onnx", Config(baseConfig: Lifecycle.Lifecycle.SlowConfig));
        await using var server = await RunningServer.StartAsync(repository.Path, OnDemand());
        Assert.Equal(HttpStatusCode.OK, (await InferAsync(server.Client, "a")).Status);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.PostJsonAsync("/v2/models/slow/infer", Lifecycle.Lifecycle.SlowRequest(1))).Response.StatusCode);

        // A long request on slow; then a is used, so slow is the least recently used while its request runs.
        Task<(HttpResponseMessage Response, System.Text.Json.Nodes.JsonNode? Body)> inFlight;
        for (var iterations = 200_000L; ; iterations *= 2)
        {
            inFlight = server.Client.PostJsonAsync("/v2/models/slow/infer", Lifecycle.Lifecycle.SlowRequest(iterations));
            await Task.Delay(500);
            if (!inFlight.IsCompleted)
            {
                break;
            }
            Assert.True(iterations < 3_200_000, "the slow request finished before the test could evict its model");
        }
        Assert.Equal(HttpStatusCode.OK, (await InferAsync(server.Client, "a")).Status);

        var (status, cold, error, _) = await InferAsync(server.Client, "b");
        Assert.True(status == HttpStatusCode.OK, error);
        // b's load waited for slow's request: it had finished by the time b answered.
        Assert.True(inFlight.IsCompleted);
        var (response, body) = await inFlight;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(64 * 64, body!["outputs"]![0]!["data"]!.AsArray().Count);
        Assert.NotNull(cold);
        Assert.Equal("a,b", await LoadedAsync(server.Client));
        Assert.Contains("evicted", (await VersionRowsAsync(server.Client))["slow"]["reason"]!.GetValue<string>());
    }
}
