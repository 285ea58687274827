using System.Net;
using Grpc.Health.V1;
using InferenceServer.FunctionalTests.Grpc;
using InferenceServer.Hosting;
using InferenceServer.Protocols.Grpc.Messages;
using static InferenceServer.FunctionalTests.Lifecycle.Lifecycle;

namespace InferenceServer.FunctionalTests.Hosting;

/// <summary>
/// Strict readiness and exit-on-error on a real server: REST's /v2/health/ready, gRPC's ServerReady and the gRPC health
/// service give the same answer, ready only when every model the server was asked to load serves.
/// </summary>
public sealed class ReadinessTests
{
    private static readonly (string, string) KeepRunning = ("Server:ExitOnError", "false");
    private static readonly (string, string) Explicit = ("Server:ModelControlMode", "explicit");

    private static TestRepository WithABrokenModel() => new TestRepository()
        .AddFixture("fine", "add_sub.onnx", AddSubConfig)
        .Add("corrupt", "name: \"corrupt\"\nplatform: \"onnxruntime_onnx\"\nmax_batch_size: 0\n", "this is not an onnx file"u8.ToArray());

    [Fact]
    public async Task AFailedModelMakesTheServerNotReadyOverRestAndGrpc()
    {
        using var repository = WithABrokenModel();
        await using var server = await RunningServer.StartAsync(repository.Path, KeepRunning);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await server.Client.GetAsync("/v2/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/health/live")).StatusCode);
        Assert.Equal("1", await InferAddSubAsync(server.Client, "fine"));
        Assert.False(await GrpcServerReadyAsync(server));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, await GrpcHealthAsync(server));
    }

    [Fact]
    public async Task WithoutStrictReadinessTheServerIsReadyOnceTheStartupLoadIsDone()
    {
        using var repository = WithABrokenModel();
        await using var server = await RunningServer.StartAsync(repository.Path, KeepRunning, ("Server:StrictReadiness", "false"));

        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/health/ready")).StatusCode);
        Assert.True(await GrpcServerReadyAsync(server));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await GrpcHealthAsync(server));
    }

    [Fact]
    public async Task EveryModelLoadedIsReadyAndSoIsTheServer()
    {
        using var repository = new TestRepository().AddFixture("fine", "add_sub.onnx", AddSubConfig).AddSample("simple");
        await using var server = await RunningServer.StartAsync(repository.Path);

        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/health/ready")).StatusCode);
        Assert.True(await GrpcServerReadyAsync(server));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await GrpcHealthAsync(server));
    }

    [Fact]
    public async Task ALoadModelThatIsInNoRepositoryCountsAsFailed()
    {
        using var repository = new TestRepository().AddFixture("fine", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, KeepRunning, Explicit, ("Server:LoadModels:0", "fine"), ("Server:LoadModels:1", "missing"));

        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/fine/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await server.Client.GetAsync("/v2/health/ready")).StatusCode);
    }

    [Fact]
    public async Task AFailedModelUnloadedOnPurposeNoLongerCounts()
    {
        using var repository = WithABrokenModel();
        await using var server = await RunningServer.StartAsync(repository.Path, KeepRunning, Explicit, ("Server:LoadModels:0", "fine"), ("Server:LoadModels:1", "corrupt"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await server.Client.GetAsync("/v2/health/ready")).StatusCode);

        // As in Triton, an unloaded model does not hold readiness back.
        Assert.Equal(HttpStatusCode.OK, (await RepositoryAsync(server.Client, "/v2/repository/models/corrupt/unload")).Status);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/health/ready")).StatusCode);

        // A load the repository API asks for counts as well: failing, it makes the server not ready again.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await RepositoryAsync(server.Client, "/v2/repository/models/corrupt/load")).Status);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await server.Client.GetAsync("/v2/health/ready")).StatusCode);
    }

    [Fact]
    public async Task ExitOnErrorStopsStartupNamingEveryFailure()
    {
        using var repository = WithABrokenModel();
        var error = await Assert.ThrowsAsync<ServerStartException>(() => RunningServer.StartAsync(repository.Path));

        Assert.StartsWith("1 startup model load(s) failed and --exit-on-error is on", error.Message);
        Assert.Contains("'corrupt' version 1", error.Message);
        Assert.DoesNotContain(repository.Path, error.Message);
    }

    private static async Task<bool> GrpcServerReadyAsync(RunningServer server)
    {
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        return (await new GRPCInferenceService.GRPCInferenceServiceClient(channel).ServerReadyAsync(new ServerReadyRequest())).Ready;
    }

    private static async Task<HealthCheckResponse.Types.ServingStatus> GrpcHealthAsync(RunningServer server)
    {
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        return (await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest())).Status;
    }
}
