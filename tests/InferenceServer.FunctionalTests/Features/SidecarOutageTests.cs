using System.Net;
using System.Text.Json.Nodes;
using InferenceServer.FunctionalTests.Http;

namespace InferenceServer.FunctionalTests.Features;

/// <summary>
/// The sidecar going away and coming back under a running server: requests that need the store are answered 503 at
/// once naming the sidecar (never held until a timeout), raw records go on working, and the server reconnects by
/// itself when the sidecar returns; the connected gauge follows.
/// </summary>
public sealed class SidecarOutageTests
{
    private static FakeReply Stored(Core.Features.Sidecar.SidecarLookup lookup)
    {
        var record = IncomeRecords.Record(0);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        return FakeSidecar.Rows([.. lookup.Keys.Select(_ => (now, lookup.Fields.Select(f => (string?)(record[f]!.ToJsonString().Trim('"'))).ToArray()))]);
    }

    private static async Task<(HttpStatusCode Status, string Body)> PredictEntityAsync(HttpClient client)
    {
        var (response, json) = await client.PostJsonAsync("/v2/models/income/predict", """{"entity": {"id": "7"}}""");
        return (response.StatusCode, json?.ToJsonString() ?? "");
    }

    private static async Task<string> ConnectedGaugeAsync(RunningServer server) =>
        (await server.MetricsClient.GetStringAsync("/metrics")).Split('\n').FirstOrDefault(l => l.StartsWith("inference_server_feature_sidecar_connected ", StringComparison.Ordinal)) ?? "";

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        for (var i = 0; i < 600; i++)
        {
            if (await condition())
            {
                return;
            }
            await Task.Delay(50);
        }
        Assert.Fail($"not within 30 s: {what}");
    }

    [Fact]
    public async Task The_server_warms_the_lookup_path_at_start_with_a_key_no_entity_has()
    {
        var path = FakeSidecar.NewPath();
        await using var sidecar = FakeSidecar.Start(path, Stored);
        using var repository = new TestRepository().AddSample("income");
        await using var server = await RunningServer.StartAsync(repository.Path, ("FeatureSidecar:Path", path));

        // Before any request: one lookup per view that reads the store, of a key no entity can have.
        var warmUp = Assert.Single(sidecar.Received);
        Assert.Equal(("income", "income:\u0001warm-up"), (warmUp.View, Assert.Single(warmUp.Keys)));
        Assert.Equal(HttpStatusCode.OK, (await PredictEntityAsync(server.Client)).Status);
    }

    [Fact]
    public async Task A_sidecar_that_dies_is_503_at_once_naming_it_and_the_server_recovers_when_it_returns()
    {
        var path = FakeSidecar.NewPath();
        var sidecar = FakeSidecar.Start(path, Stored);
        using var repository = new TestRepository().AddSample("income");
        FakeStoreSidecarFixture.RelaxLookupTimeout(repository.Path);
        await using var server = await RunningServer.StartAsync(repository.Path, ("FeatureSidecar:Path", path));
        try
        {
            Assert.Equal(HttpStatusCode.OK, (await PredictEntityAsync(server.Client)).Status);
            Assert.Equal("inference_server_feature_sidecar_connected 1", await ConnectedGaugeAsync(server));

            await sidecar.DisposeAsync();

            await EventuallyAsync(async () => await ConnectedGaugeAsync(server) == "inference_server_feature_sidecar_connected 0", "the gauge shows the connection lost");
            var (status, body) = await PredictEntityAsync(server.Client);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.Contains($"the feature sidecar at unix:{path} is not reachable", body);
            // A raw record needs no sidecar.
            var (record, _) = await server.Client.PostJsonAsync("/v2/models/income/predict", new JsonObject { ["record"] = IncomeRecords.Record(1) }.ToJsonString());
            Assert.Equal(HttpStatusCode.OK, record.StatusCode);

            sidecar = FakeSidecar.Start(path, Stored);

            await EventuallyAsync(async () => (await PredictEntityAsync(server.Client)).Status == HttpStatusCode.OK, "entity requests succeed again");
            Assert.Equal("inference_server_feature_sidecar_connected 1", await ConnectedGaugeAsync(server));
        }
        finally
        {
            await sidecar.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_server_started_before_its_sidecar_serves_entities_once_the_sidecar_is_up()
    {
        var path = FakeSidecar.NewPath();
        using var repository = new TestRepository().AddSample("income");
        FakeStoreSidecarFixture.RelaxLookupTimeout(repository.Path);
        await using var server = await RunningServer.StartAsync(repository.Path, ("FeatureSidecar:Path", path));

        var (status, body) = await PredictEntityAsync(server.Client);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains($"the feature sidecar at unix:{path} is not reachable", body);

        await using var sidecar = FakeSidecar.Start(path, Stored);
        await EventuallyAsync(async () => (await PredictEntityAsync(server.Client)).Status == HttpStatusCode.OK, "entity requests succeed once the sidecar is up");
    }
}
