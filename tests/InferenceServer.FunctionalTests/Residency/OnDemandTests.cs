using System.Net;
using InferenceServer.Protocols.Grpc.Messages;
using InferenceServer.FunctionalTests.Http;
using Microsoft.Extensions.DependencyInjection;
using static InferenceServer.FunctionalTests.Residency.Residency;

namespace InferenceServer.FunctionalTests.Residency;

/// <summary>On-demand mode against a real server: every model listed, each loaded by its first request, which waits for it.</summary>
public sealed class OnDemandTests
{
    [Fact]
    public async Task AModelIsListedUnloadedThenLoadedByItsFirstRequestWhichSaysItWaited()
    {
        using var repository = new TestRepository().AddFixture("a", "add_sub.onnx", Config()).AddFixture("b", "add_sub.onnx", Config());
        await using var server = await RunningServer.StartAsync(repository.Path, OnDemand(budget: null));

        var index = await Lifecycle.Lifecycle.IndexAsync(server.Client);
        Assert.Equal(("UNAVAILABLE", "not loaded"), index["a/-"]);
        Assert.Equal(("UNAVAILABLE", "not loaded"), index["b/-"]);

        var (status, cold, error, _) = await InferAsync(server.Client, "a");
        Assert.True(status == HttpStatusCode.OK, error);
        Assert.NotNull(cold);
        Assert.InRange(cold.Value, 0, 60_000);
        // Warm now: no cold-start header.
        (status, cold, error, _) = await InferAsync(server.Client, "a");
        Assert.True(status == HttpStatusCode.OK, error);
        Assert.Null(cold);

        // Requests sent together all succeed: those that arrive while b loads wait for the one load (and say so), those
        // that arrive after it run warm.
        var together = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => InferAsync(server.Client, "b")));
        Assert.All(together, r => Assert.True(r.Status == HttpStatusCode.OK, $"{r.Status} {r.Error}"));
        Assert.Contains(together, r => r.ColdStartMs is not null);

        var rows = await VersionRowsAsync(server.Client);
        Assert.Equal("READY", rows["a"]["state"]!.GetValue<string>());
        // The footprint: at least what the config declares, measured across the load.
        Assert.True(rows["a"]["memory"]!["cpu_bytes"]!.GetValue<long>() >= Footprint);
        Assert.True(rows["a"]["memory"]!["measured"]!.GetValue<bool>());

        // A name that is in no repository is still NotFound, without waiting.
        var (missing, _) = await server.Client.PostJsonAsync("/v2/models/nope/infer", Lifecycle.Lifecycle.AddSubRequest());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task ARequestToARouteLoadsTheRouteAndTheModelsOfItsVariants()
    {
        using var repository = new TestRepository().AddFixture("a", "add_sub.onnx", Config()).AddFixture("b", "add_sub.onnx", Config());
        Directory.CreateDirectory(Path.Combine(repository.Path, "ab"));
        await File.WriteAllTextAsync(Path.Combine(repository.Path, "ab", "routing.pbtxt"),
            """variant [ { name: "a" model: "a" weight: 50 }, { name: "b" model: "b" weight: 50 } ]""");
        await using var server = await RunningServer.StartAsync(repository.Path, OnDemand(budget: null));

        var (status, cold, error, _) = await InferAsync(server.Client, "ab");
        Assert.True(status == HttpStatusCode.OK, error);
        Assert.NotNull(cold);
        Assert.Equal("a,b", await LoadedAsync(server.Client));
        // Both variants serve now: a request to the route waits for nothing.
        (status, cold, error, _) = await InferAsync(server.Client, "ab");
        Assert.True(status == HttpStatusCode.OK, error);
        Assert.Null(cold);
    }

    [Fact]
    public async Task AModelThatFailsToLoadIsNotLoadedAgainForEveryRequestButAfterABackOffThatDoubles()
    {
        using var repository = new TestRepository().Add("bad", Config(), "not an ONNX model"u8.ToArray()).AddFixture("a", "add_sub.onnx", Config());
        await using var server = await RunningServer.StartAsync(repository.Path, OnDemand(budget: null));

        // The first request loads it, and gets the load's failure.
        var (status, _, error, _) = await InferAsync(server.Client, "bad");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("failed to load 'bad'", error);
        Assert.DoesNotContain("in a row", error);

        // The next, at once: refused without a load, with the reason and when to retry.
        (status, _, error, var response) = await InferAsync(server.Client, "bad");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("failed to load 1 time(s) in a row", error);
        Assert.Contains("failed to load 'bad'", error);
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);

        // After the back-off a request loads it again (it fails again), and the next back-off is longer.
        await Task.Delay(1200);
        (status, _, error, _) = await InferAsync(server.Client, "bad");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.DoesNotContain("in a row", error);
        (_, _, error, response) = await InferAsync(server.Client, "bad");
        Assert.Contains("failed to load 2 time(s) in a row", error);
        Assert.Equal(TimeSpan.FromSeconds(2), response.Headers.RetryAfter?.Delta);

        // Other models load and serve as ever.
        (status, _, error, _) = await InferAsync(server.Client, "a");
        Assert.True(status == HttpStatusCode.OK, error);
    }

    [Fact]
    public async Task AGrpcRequestForAColdModelCarriesTheWaitInItsResponseMetadata()
    {
        using var repository = new TestRepository().AddFixture("a", "add_sub.onnx", Config());
        await using var server = await RunningServer.StartAsync(repository.Path, OnDemand(budget: null));
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

        using var call = client.ModelInferAsync(AddSubGrpc("a"));
        var headers = await call.ResponseHeadersAsync;
        var response = await call.ResponseAsync;
        Assert.Equal("a", response.ModelName);
        Assert.Contains(headers, h => h.Key == "inference-cold-start-ms" && long.TryParse(h.Value, out var ms) && ms >= 0);

        using var warm = client.ModelInferAsync(AddSubGrpc("a"));
        Assert.DoesNotContain(await warm.ResponseHeadersAsync, h => h.Key == "inference-cold-start-ms");
        await warm.ResponseAsync;

        // The gRPC index carries the footprint too.
        var index = await client.RepositoryIndexAsync(new RepositoryIndexRequest { Ready = true });
        var row = Assert.Single(index.Models);
        Assert.True(row.Memory.CpuBytes >= Footprint && row.Memory.Measured, row.ToString());
    }

    [Fact]
    public async Task RequestsPastTheColdStartDeadlineGet503WithRetryAfterAndTheLoadGoesOn()
    {
        using var repository = SlowLoadingRepository();
        await using var server = await RunningServer.StartAsync(repository.Path, [.. OnDemand(budget: null), ("Server:ColdStartTimeoutMilliseconds", "1")]);

        var (response, body) = await server.Client.PostJsonAsync("/v2/models/slow/infer", Lifecycle.Lifecycle.SlowRequest(1));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Contains("--cold-start-timeout-ms", body!["error"]!.GetValue<string>());
        // The load went on: the model becomes READY without another request.
        await Lifecycle.Lifecycle.WaitForStateAsync(server.Client, "slow/1", "READY", SlowLoadSeconds);
    }

    [Fact]
    public async Task ARequestBeyondTheColdStartQueueIsRefusedAtOnceWithRetryAfter()
    {
        using var repository = SlowLoadingRepository();
        await using var server = await RunningServer.StartAsync(repository.Path, [.. OnDemand(budget: null), ("Server:ColdStartQueueSize", "1"),
            ("Server:ColdStartTimeoutMilliseconds", (SlowLoadSeconds * 1000).ToString(System.Globalization.CultureInfo.InvariantCulture))]);

        var first = server.Client.PostJsonAsync("/v2/models/slow/infer", Lifecycle.Lifecycle.SlowRequest(1));
        await WaitForColdWaitersAsync(server);
        // The one place in the queue is taken by the first request, which waits for the load.
        var (response, body) = await server.Client.PostJsonAsync("/v2/models/slow/infer", Lifecycle.Lifecycle.SlowRequest(1));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Contains("--cold-start-queue-size", body!["error"]!.GetValue<string>());

        var (firstResponse, _) = await first;
        Assert.Equal(HttpStatusCode.OK, firstResponse.StatusCode);
        Assert.True(firstResponse.Headers.Contains("Inference-Cold-Start-Ms"));
    }

    [Fact]
    public async Task UnderABudgetALoadNobodyWaitsForIsDroppedAndAColdRequestThatCouldNotLoadInTimeIsRefusedAtOnce()
    {
        using var repository = SlowLoadingRepository("slow", "queued", "third", "fourth");
        await using var server = await RunningServer.StartAsync(repository.Path,
            [.. OnDemand(budget: 4 * Footprint), ("Server:ColdStartTimeoutMilliseconds", "1000")]);

        // slow's load takes the budget's turn for seconds; queued's waits behind it. Both requests give up at 1 s, a deadline
        // well under a load. In a freshly started test process the way to a load's turn (config, locks, all of it compiled for the first time)
        // can itself outlast the deadline, and then slow's load is dropped before its turn: it is asked for again until its
        // load has the turn. Which load goes first is otherwise a race this test does not mean to run.
        var first = await AskUntilItsLoadTakesTheTurnAsync(server, "slow");
        var (queued, _) = await server.Client.PostJsonAsync("/v2/models/queued/infer", Lifecycle.Lifecycle.SlowRequest(1));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, queued.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await first).Response.StatusCode);

        // slow's load had started: it goes on. queued's had not: nobody waited for it, so it never ran.
        await Lifecycle.Lifecycle.WaitForStateAsync(server.Client, "slow/1", "READY", SlowLoadSeconds);
        await Task.Delay(500);
        Assert.NotEqual("READY", (await VersionRowsAsync(server.Client)).GetValueOrDefault("queued")?["state"]?.GetValue<string>());

        // Now a load is known to hold the turn for seconds: while third loads, a request for fourth could not load within
        // the 1 s deadline, and says so at once instead of after waiting.
        var third = await AskUntilItsLoadTakesTheTurnAsync(server, "third");
        var (fourth, body) = await server.Client.PostJsonAsync("/v2/models/fourth/infer", Lifecycle.Lifecycle.SlowRequest(1));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, fourth.StatusCode);
        Assert.NotNull(fourth.Headers.RetryAfter);
        // Refused for the loads ahead, not after waiting out the deadline (that answer says "still loading after 1000 ms").
        Assert.Contains("loads ahead of it", body!["error"]!.GetValue<string>());
        await third;
    }

    // Asks for a model that is not loaded until its load has taken the budget's turn (a request that gives up before that
    // drops the load); returns the request whose load has it.
    private static async Task<Task<(HttpResponseMessage Response, System.Text.Json.Nodes.JsonNode? Body)>> AskUntilItsLoadTakesTheTurnAsync(
        RunningServer server, string model)
    {
        var residency = server.Host.Services.GetRequiredService<InferenceServer.Core.Residency.ModelResidency>();
        while (true)
        {
            var request = server.Client.PostJsonAsync($"/v2/models/{model}/infer", Lifecycle.Lifecycle.SlowRequest(1));
            await RequestBodyLimitTests.WaitUntilAsync(() => residency.TookTurn(model) || request.IsCompleted, $"the load of {model} to take its turn, or its request to end");
            if (residency.TookTurn(model))
            {
                return request;
            }
        }
    }

    // Until a request waits for a load, by the server's own gauge: the index is no clock for it, as a version's row may
    // show only once its load is done.
    private static async Task WaitForColdWaitersAsync(RunningServer server)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var metrics = await server.MetricsClient.GetStringAsync("/metrics");
            var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith("nv_model_cold_start_waiting ", StringComparison.Ordinal));
            if (line is not null && double.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture) >= 1)
            {
                return;
            }
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"no request waited for a load within 30 s; {line ?? "no nv_model_cold_start_waiting"}");
            }
            await Task.Delay(20);
        }
    }

    // Models (slow.onnx) with a warm-up of 600,000 iterations read from a file: each load takes seconds (about 5 on the
    // 2-core development VM), so a deadline or a queue meets a load still running on any machine.
    [Fact]
    public async Task ARequestRoutedBeforeItsModelWasEvictedWaitsForTheModelToLoadAgain()
    {
        using var repository = new TestRepository().AddFixture("a", "add_sub.onnx", Config()).AddFixture("b", "add_sub.onnx", Config());
        // A budget that holds one model: loading b evicts a.
        await using var server = await RunningServer.StartAsync(repository.Path, OnDemand(budget: Footprint + Footprint / 2));
        Assert.Equal(HttpStatusCode.OK, (await InferAsync(server.Client, "a")).Status);
        var bodies = server.Host.Services.GetRequiredService<InferenceServer.Protocols.Buffers.RequestBodyBudget>();

        // A request to a is routed to a's version, then its client is slow to send the rest of its body.
        var body = System.Text.Encoding.UTF8.GetBytes(Lifecycle.Lifecycle.AddSubRequest());
        var held = new HeldBodyContent(body.Length, body.Length / 2, content: body);
        using var slowClient = new HttpClient { BaseAddress = server.Host.HttpAddress };
        var slow = slowClient.PostAsync("/v2/models/a/infer", held);
        await RequestBodyLimitTests.WaitUntilAsync(() => bodies.ReservedBytes > 0, "the slow request's body to be read");

        // Meanwhile b is asked for, and a, idle, is evicted for it.
        Assert.Equal(HttpStatusCode.OK, (await InferAsync(server.Client, "b")).Status);
        Assert.Equal("b", await LoadedAsync(server.Client));

        // The slow request's version is gone with a; it waits for a to load again, and is answered.
        held.Release();
        var response = await slow;
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        Assert.Equal(2, System.Text.Json.Nodes.JsonNode.Parse(text)!["outputs"]!.AsArray()
            .Single(o => o!["name"]!.GetValue<string>() == "OUTPUT0")!["data"]![0]!.GetValue<int>());
        Assert.Equal("a", await LoadedAsync(server.Client));
    }

    // The slow models' warm-up takes about 5 s on a quiet two-core machine; the tests wait for their load far longer, as a
    // machine busy with other builds slowed it past 30 s.
    private const int SlowLoadSeconds = 180;

    private static TestRepository SlowLoadingRepository(params string[] names)
    {
        var repository = new TestRepository();
        foreach (var name in names.Length == 0 ? ["slow"] : names)
        {
            repository.AddFixture(name, "slow.onnx", Lifecycle.Lifecycle.SlowConfig + $$"""

                parameters { key: "memory_footprint_bytes" value { string_value: "{{Footprint}}" } }
                model_warmup [ { name: "long" batch_size: 1
                  inputs { key: "X" value: { data_type: TYPE_FP32 dims: [ 64, 64 ] random_data: true } }
                  inputs { key: "ITERATIONS" value: { data_type: TYPE_INT64 dims: [ 1 ] input_data_file: "iterations" } } } ]
                """);
            Directory.CreateDirectory(Path.Combine(repository.Path, name, "warmup"));
            File.WriteAllBytes(Path.Combine(repository.Path, name, "warmup", "iterations"), BitConverter.GetBytes(600_000L));
        }
        return repository;
    }

    private static ModelInferRequest AddSubGrpc(string model)
    {
        var request = new ModelInferRequest { ModelName = model };
        foreach (var name in new[] { "INPUT0", "INPUT1" })
        {
            var input = new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = "INT32", Shape = { 1, 16 } };
            input.Contents = new InferTensorContents();
            input.Contents.IntContents.AddRange(Enumerable.Repeat(1, 16));
            request.Inputs.Add(input);
        }
        return request;
    }
}
