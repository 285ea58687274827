using System.Net;
using Grpc.Core;
using InferenceServer.FunctionalTests.Http;
using InferenceServer.Protocols.Grpc.Messages;
using static InferenceServer.FunctionalTests.Lifecycle.Lifecycle;
using static InferenceServer.FunctionalTests.Repository.RepositoryApi;

namespace InferenceServer.FunctionalTests.Repository;

/// <summary>
/// A load is never beyond reach: the index lists it LOADING while it runs, and an unload, the shutdown, its own
/// timeout (REST parameter or gRPC deadline), the server's load timeout and a client that goes away each stop it
/// between instances and warm-up runs, leaving what served serving. The loads here warm up for minutes unless stopped.
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed class LoadCancellationTests
{
    private static Task<(HttpStatusCode Status, string Error)> LoadEndlessAsync(HttpClient client, params (string Name, object Value)[] parameters) =>
        RepositoryAsync(client, "/v2/repository/models/slow/load", LoadBody(SlowJson(EndlessWarmup()), [], parameters));

    private static async Task<RunningServer> StartAsync(TestRepository repository, params (string Key, string Value)[] settings)
    {
        AddSlowModel(repository, "slow");
        return await RunningServer.StartAsync(repository.Path, [Explicit, .. settings]);
    }

    private static async Task WaitUntilNotLoadingAsync(HttpClient client)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await IndexAsync(client)).Any(r => r.Value.State == "LOADING"))
        {
            Assert.True(DateTime.UtcNow < deadline, "the index still lists a load 30 s after it was cancelled");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task ALoadingModelIsListedLoadingAndAnUnloadCancelsIt()
    {
        using var repository = new TestRepository();
        await using var server = await StartAsync(repository);

        var load = LoadEndlessAsync(server.Client);
        Assert.Equal(("LOADING", ""), await WaitForStateAsync(server.Client, "slow/1", "LOADING"));
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync("/v2/models/slow/ready")).StatusCode);

        Assert.Equal((HttpStatusCode.OK, ""), await RepositoryAsync(server.Client, "/v2/repository/models/slow/unload"));
        var (status, error) = await load;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("cancelled by an unload", error);
        Assert.DoesNotContain(await IndexAsync(server.Client), r => r.Value.State == "LOADING");
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync("/v2/models/slow/ready")).StatusCode);

        // The model loads normally afterwards.
        Assert.Equal((HttpStatusCode.OK, ""), await RepositoryAsync(server.Client, "/v2/repository/models/slow/load"));
    }

    [Fact]
    public async Task ALoadPastItsTimeoutFailsAndLeavesThePreviousVersionServing()
    {
        using var repository = new TestRepository();
        await using var server = await StartAsync(repository, ("Server:LoadModels:0", "slow"));
        var version = server.Version("slow", 1);

        var (status, error) = await LoadEndlessAsync(server.Client, ("timeout", 1_000_000));
        Assert.Equal(HttpStatusCode.GatewayTimeout, status);
        Assert.Contains("did not finish within its timeout of 1 s", error);
        Assert.Same(version, server.Version("slow", 1));
        Assert.Equal(HttpStatusCode.OK, (await server.Client.PostJsonAsync("/v2/models/slow/infer", SlowRequest(1))).Response.StatusCode);
        Assert.Equal("READY", (await IndexAsync(server.Client))["slow/1"].State);

        // A gRPC deadline bounds the load the same way.
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var request = new RepositoryModelLoadRequest { ModelName = "slow" };
        request.Parameters["config"] = new ModelRepositoryParameter { StringParam = SlowJson(EndlessWarmup()) };
        var e = await Assert.ThrowsAsync<RpcException>(async () => await client.RepositoryModelLoadAsync(request, deadline: DateTime.UtcNow.AddSeconds(1)));
        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        await WaitUntilNotLoadingAsync(server.Client);
        Assert.Same(version, server.Version("slow", 1));
        Assert.Equal(HttpStatusCode.OK, (await server.Client.PostJsonAsync("/v2/models/slow/infer", SlowRequest(1))).Response.StatusCode);
    }

    [Fact]
    public async Task TheServersLoadTimeoutBoundsEveryLoad()
    {
        using var repository = new TestRepository();
        await using var server = await StartAsync(repository, ("Server:ModelLoadTimeoutSeconds", "1"));

        var (status, error) = await LoadEndlessAsync(server.Client);

        Assert.Equal(HttpStatusCode.GatewayTimeout, status);
        Assert.Contains("did not finish within 1 s (--model-load-timeout-secs)", error);
        var index = await IndexAsync(server.Client);
        Assert.DoesNotContain(index, r => r.Value.State == "LOADING");
        Assert.Contains("--model-load-timeout-secs", index["slow/-"].Reason);
    }

    [Fact]
    public async Task AClientThatGoesAwayCancelsItsLoad()
    {
        using var repository = new TestRepository();
        await using var server = await StartAsync(repository);

        using var gone = new CancellationTokenSource();
        var load = server.Client.PostAsync("/v2/repository/models/slow/load",
            new StringContent(LoadBody(SlowJson(EndlessWarmup()), []), System.Text.Encoding.UTF8, "application/json"), gone.Token);
        await WaitForStateAsync(server.Client, "slow/1", "LOADING");
        await gone.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => load);

        await WaitUntilNotLoadingAsync(server.Client);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync("/v2/models/slow/ready")).StatusCode);
    }

    [Fact]
    public async Task ShutdownCancelsALoadInProgress()
    {
        using var repository = new TestRepository();
        // In-flight requests may take up to 5 minutes to finish: only the load's cancellation lets the server stop sooner.
        var server = await StartAsync(repository, ("Server:ShutdownTimeoutSeconds", "300"));
        try
        {
            var load = LoadEndlessAsync(server.Client);
            await WaitForStateAsync(server.Client, "slow/1", "LOADING");

            // The host stops while the client stays: the load's answer can still arrive.
            var stop = server.Host.DisposeAsync().AsTask();
            Assert.Same(stop, await Task.WhenAny(stop, Task.Delay(TimeSpan.FromSeconds(60))));
            var (status, error) = await load;
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.Contains("shutting down", error);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }
}
