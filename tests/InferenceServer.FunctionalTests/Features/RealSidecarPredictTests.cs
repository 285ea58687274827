using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using InferenceServer.FunctionalTests.Features.Sidecar;
using InferenceServer.FunctionalTests.Http;
using InferenceServer.Protocols.Grpc.Messages;
using StackExchange.Redis;

namespace InferenceServer.FunctionalTests.Features;

/// <summary>
/// The whole online path with real processes: a real <c>redis-server</c>, the real <c>feature-sidecar</c> (its
/// <c>materialize</c> loading the sample's records from a CSV, its <c>serve</c> on a Unix socket) and the server with
/// <c>--feature-sidecar</c>. An entity predicts exactly as a plain infer of the encoding computed in the test; a
/// missing entity and an expired one are refused as such; the sidecar killed and started again, and Redis killed and
/// restarted under load, never hang a request, are answered 503 naming what failed, recover by themselves, and the
/// server's metrics count every request the clients saw.
/// </summary>
public sealed class RealSidecarPredictTests : IAsyncLifetime
{
    private readonly string _socket = Path.Combine(Path.GetTempPath(), $"fs-{Guid.NewGuid():N}.sock");
    private readonly TestRepository _repository = new TestRepository().AddSample("income");
    private RedisServer? _redis;
    private SidecarProcess? _sidecar;
    private RunningServer? _server;

    private RedisServer Redis => _redis!;

    private RunningServer Server => _server!;

    public async Task InitializeAsync()
    {
        FakeStoreSidecarFixture.RelaxLookupTimeout(_repository.Path);
        _redis = await RedisServer.StartAsync();
        // The sample's two records as entities 7 and 8, through materialize (the README's flow).
        var csv = Path.Combine(_repository.Path, "records.csv");
        var records = new[] { IncomeRecords.Record(0), IncomeRecords.Record(1) };
        var fields = records[0].Select(p => p.Key).ToArray();
        File.WriteAllLines(csv, [
            "id," + string.Join(',', fields),
            .. records.Select((r, i) => (7 + i).ToString(CultureInfo.InvariantCulture) + "," + string.Join(',', fields.Select(f => Text(r[f])))),
        ]);
        var (exitCode, materialize) = await SidecarProcess.RunAsync("materialize", "--view", "income", "--from", csv, "--store", Redis.Address,
            "--key-pattern", "income:{id}", "--fields", string.Join(',', fields));
        Assert.True(exitCode == 0, string.Join('\n', materialize.Error.Concat(materialize.Output)));
        materialize.Dispose();
        // An entity written 31 days ago: past income's 30-day TTL.
        using (var connection = await ConnectionMultiplexer.ConnectAsync(Redis.Endpoint))
        {
            var old = DateTimeOffset.UtcNow.AddDays(-31).ToUnixTimeMilliseconds();
            await connection.GetDatabase().HashSetAsync("income:old",
                [.. records[0].Select(p => new HashEntry(p.Key, Text(p.Value))), new HashEntry("_stored_at", old)]);
        }
        _sidecar = await SidecarProcess.ServeAsync(_socket, Redis.Address);
        _server = await RunningServer.StartAsync(_repository.Path, ("FeatureSidecar:Path", _socket));
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        _sidecar?.Dispose();
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
        _repository.Dispose();
    }

    private static string Text(JsonNode? value) =>
        value!.GetValueKind() == JsonValueKind.Number ? IncomeRecords.Number(value).ToString("R", CultureInfo.InvariantCulture) : value.GetValue<string>();

    private async Task<(HttpStatusCode Status, JsonNode? Body)> PredictAsync(string id)
    {
        var (response, json) = await Server.Client.PostJsonAsync("/v2/models/income/predict", $$$"""{"entity": {"id": "{{{id}}}"}}""");
        return (response.StatusCode, json);
    }

    private async Task<double> CountAsync(string outcome)
    {
        var text = await Server.MetricsClient.GetStringAsync("/metrics");
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith($"inference_server_feature_requests_total{{view=\"income\",outcome=\"{outcome}\"}} ", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"not within 30 s: {what}");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Entities_from_Redis_predict_exactly_as_a_plain_infer_of_the_encoding_computed_here_and_misses_are_named()
    {
        using var channel = GrpcChannels.For(Server.Host.GrpcAddress);
        var grpc = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        foreach (var (id, index) in new[] { ("7", 0), ("8", 1) })
        {
            var expected = IncomeRecords.Probabilities(await grpc.ModelInferAsync(IncomeRecords.PlainInfer("income", IncomeRecords.Encode(IncomeRecords.Record(index)))))[0];

            var (status, answer) = await PredictAsync(id);
            Assert.True(status == HttpStatusCode.OK, answer?.ToJsonString());
            Assert.Equal(expected, answer!["outputs"]!["probability"]!.GetValue<float>());
            Assert.Equal(expected >= 0.5f ? ">50K" : "<=50K", answer["outputs"]!["prediction"]!.GetValue<string>());

            var request = new ModelInferRequest { ModelName = "income" };
            request.Parameters.Add("entity.id", new InferParameter { StringParam = id });
            var response = await grpc.ModelInferAsync(request);
            Assert.Equal(expected, IncomeRecords.Probabilities(response)[0]);
        }

        var (missing, missingAnswer) = await PredictAsync("999");
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Contains("entity 'income:999' is not in the online store", missingAnswer!["error"]!.GetValue<string>());

        var (expired, expiredAnswer) = await PredictAsync("old");
        Assert.Equal(HttpStatusCode.BadRequest, expired);
        Assert.Contains("expired", expiredAnswer!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_sidecar_killed_is_503_naming_it_and_started_again_is_used_again_without_a_restart()
    {
        Assert.Equal(HttpStatusCode.OK, (await PredictAsync("7")).Status);

        _sidecar!.Dispose();

        await EventuallyAsync(async () => (await PredictAsync("7")).Status == HttpStatusCode.ServiceUnavailable, "the server answers 503 without the sidecar");
        var (_, down) = await PredictAsync("7");
        Assert.Contains($"the feature sidecar at unix:{_socket} is not reachable", down!["error"]!.GetValue<string>());

        _sidecar = await SidecarProcess.ServeAsync(_socket, Redis.Address);

        await EventuallyAsync(async () => (await PredictAsync("7")).Status == HttpStatusCode.OK, "entity requests succeed again");
    }

    [Fact]
    public async Task Redis_killed_and_restarted_under_load_never_hangs_a_request_and_the_metrics_count_what_clients_saw()
    {
        var okBefore = await CountAsync("ok");
        var unavailableBefore = await CountAsync("unavailable");
        var statuses = new ConcurrentQueue<(HttpStatusCode Status, TimeSpan Took, string Body)>();
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var clock = Stopwatch.StartNew();
                var (status, body) = await PredictAsync("7");
                statuses.Enqueue((status, clock.Elapsed, body?.ToJsonString() ?? ""));
            }
        })).ToArray();

        await Task.Delay(500);
        Redis.Kill();
        await EventuallyAsync(() => Task.FromResult(statuses.Any(s => s.Status == HttpStatusCode.ServiceUnavailable)), "requests are refused while Redis is down");
        await Task.Delay(500);
        await Redis.RestartAsync();
        var restarted = statuses.Count;
        await EventuallyAsync(() =>
        {
            var seen = statuses.ToArray();
            return Task.FromResult(seen.Length >= restarted + 20 && seen[^20..].All(s => s.Status == HttpStatusCode.OK));
        }, "requests succeed again after Redis restarted");
        await stop.CancelAsync();
        await Task.WhenAll(workers);

        var all = statuses.ToArray();
        Assert.True(all.Length > restarted);
        // No request waited for a dead store: each was answered well within the lookup's timeout and more.
        Assert.All(all, s => Assert.True(s.Took < TimeSpan.FromSeconds(10), $"a request took {s.Took}"));
        Assert.All(all, s => Assert.True(s.Status is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"{s.Status}: {s.Body}"));
        Assert.All(all.Where(s => s.Status == HttpStatusCode.ServiceUnavailable), s => Assert.Contains($"unix:{_socket}", s.Body));
        Assert.Equal(all.Count(s => s.Status == HttpStatusCode.OK), await CountAsync("ok") - okBefore);
        Assert.Equal(all.Count(s => s.Status == HttpStatusCode.ServiceUnavailable), await CountAsync("unavailable") - unavailableBefore);
    }
}
