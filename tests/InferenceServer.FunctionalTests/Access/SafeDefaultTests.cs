using System.Net;
using Grpc.Core;
using InferenceServer.Protocols.Access;
using InferenceServer.Protocols.Grpc.Messages;
using Microsoft.Extensions.DependencyInjection;
using static InferenceServer.FunctionalTests.Access.AccessClient;
using static InferenceServer.FunctionalTests.Lifecycle.Lifecycle;

namespace InferenceServer.FunctionalTests.Access;

/// <summary>
/// The repository API, which can load any model file, is refused unless a credential with scope repository is
/// configured or the server listens on loopback only; everything else stays as open as it was.
/// </summary>
public sealed class SafeDefaultTests
{
    [Fact]
    public async Task OffLoopbackWithoutCredentialsTheRepositoryApiIsRefusedOverRestAndGrpc()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        // A wildcard bind is reachable from other machines; the test's client still calls it on loopback.
        await using var server = await RunningServer.StartAsync(repository.Path, ("Http:Address", "0.0.0.0"));
        Assert.False(server.Host.Services.GetRequiredService<ServerAccess>().LoopbackOnly);

        var (status, error) = await RepositoryAsync(server.Client, "/v2/repository/index");
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("the server listens beyond loopback and no credential has scope 'repository'", error);
        Assert.Equal(HttpStatusCode.Forbidden, (await RepositoryAsync(server.Client, "/v2/repository/models/m/unload")).Status);
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var denied = await Assert.ThrowsAsync<RpcException>(() => client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "m" }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);

        // The rest needs no credential, as before.
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/m/config")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/stats")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.MetricsClient.GetAsync("/metrics")).StatusCode);
        Assert.True((await client.ServerReadyAsync(new ServerReadyRequest())).Ready);
        Assert.Equal("m", (await client.ModelMetadataAsync(new ModelMetadataRequest { Name = "m" })).Name);
        var scrape = await server.MetricsClient.GetStringAsync("/metrics");
        Assert.Equal(3.0, Refused(scrape, "repository", "closed"));
    }

    [Fact]
    public async Task OffLoopbackATokenWithTheRepositoryScopeOpensIt()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        const string Admin = "admin-2b7e151628aed2a6abf71588";
        await using var server = await RunningServer.StartAsync(repository.Path, ("Http:Address", "0.0.0.0"), ("Auth:Tokens:0", Entry("admin", Admin, "*")));

        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client.PostAsync("/v2/repository/index", null)).StatusCode);
        using var index = await SendAsync(server.Client, HttpMethod.Post, "/v2/repository/index", "{}", Admin);
        Assert.Equal(HttpStatusCode.OK, index.StatusCode);
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var models = await new GRPCInferenceService.GRPCInferenceServiceClient(channel).RepositoryIndexAsync(new RepositoryIndexRequest(), Bearer(Admin));
        Assert.Contains(models.Models, m => m.Name == "m");
    }

    [Fact]
    public async Task OnLoopbackOnlyTheRepositoryApiStaysOpenWithoutCredentials()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, ("Http:Address", "127.0.0.1"), ("Grpc:Address", "localhost"));
        Assert.True(server.Host.Services.GetRequiredService<ServerAccess>().LoopbackOnly);

        var index = await IndexAsync(server.Client);
        Assert.Equal("READY", index["m/1"].State);
    }

    [Fact]
    public async Task AGrpcEndpointBeyondLoopbackIsEnoughToCloseTheRepositoryApi()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, ("Http:Address", "127.0.0.1"), ("Grpc:Address", "0.0.0.0"));

        Assert.False(server.Host.Services.GetRequiredService<ServerAccess>().LoopbackOnly);
        Assert.Equal(HttpStatusCode.Forbidden, (await RepositoryAsync(server.Client, "/v2/repository/index")).Status);
    }

    [Theory]
    [InlineData(false, false, "health, metadata, infer, statistics, metrics")]
    [InlineData(false, true, "health, metadata, infer, statistics, metrics, repository")]
    [InlineData(true, false, "health")]
    [InlineData(true, true, "health")]
    public void TheDefaultOpenScopesFollowCredentialsAndLoopback(bool credentials, bool loopbackOnly, string open)
    {
        Assert.Equal(open, ServerAccess.DefaultOpen(credentials, loopbackOnly).ToString());
    }

    [Fact]
    public async Task OpenScopesCanOpenTheRepositoryApiExplicitly()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, ("Http:Address", "0.0.0.0"), ("Auth:OpenScopes", "*"));

        Assert.Equal("READY", (await IndexAsync(server.Client))["m/1"].State);
    }
}
