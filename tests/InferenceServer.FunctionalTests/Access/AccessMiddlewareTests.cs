using System.Net;
using Grpc.Core;
using InferenceServer.Protocols.Grpc.Messages;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection;
using static InferenceServer.FunctionalTests.Access.AccessClient;
using static InferenceServer.FunctionalTests.Lifecycle.Lifecycle;

namespace InferenceServer.FunctionalTests.Access;

/// <summary>
/// WebApplication runs ASP.NET Core's authentication and authorization middleware on every request whenever their
/// services are registered. The server registers them only when a credential is configured; without one, a scope
/// that is not open is closed to everyone and refused by a plain check. The answers are the same either way.
/// </summary>
public sealed class AccessMiddlewareTests
{
    [Fact]
    public async Task WithoutCredentialsOnLoopbackNeitherIsRegisteredAndEveryApiAnswersAsBefore()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, ("Grpc:Address", "127.0.0.1"));

        Assert.False(Registered<IAuthenticationSchemeProvider>(server));
        Assert.False(Registered<IAuthorizationHandlerProvider>(server));
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/m/config")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/health/ready")).StatusCode);
        Assert.Equal("READY", (await IndexAsync(server.Client))["m/1"].State);
        Assert.Equal(HttpStatusCode.OK, (await server.MetricsClient.GetAsync("/metrics")).StatusCode);
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        Assert.Equal("m", (await client.ModelMetadataAsync(new ModelMetadataRequest { Name = "m" })).Name);
        Assert.Contains((await client.RepositoryIndexAsync(new RepositoryIndexRequest())).Models, m => m.Name == "m");
    }

    [Fact]
    public async Task WithoutCredentialsBeyondLoopbackNeitherIsRegisteredAndTheRepositoryApiIsStillClosedOverRestAndGrpc()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, ("Http:Address", "0.0.0.0"));

        Assert.False(Registered<IAuthenticationSchemeProvider>(server));
        Assert.False(Registered<IAuthorizationHandlerProvider>(server));
        var (status, error) = await RepositoryAsync(server.Client, "/v2/repository/index");
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("the repository API is refused to everyone on this server: the server listens beyond loopback and no credential has scope 'repository'", error);
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var denied = await Assert.ThrowsAsync<RpcException>(() => client.RepositoryIndexAsync(new RepositoryIndexRequest()).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));
        Assert.Equal(HttpStatusCode.OK, (await server.MetricsClient.GetAsync("/metrics")).StatusCode);
        Assert.Equal(2.0, Refused(await server.MetricsClient.GetStringAsync("/metrics"), "repository", "closed"));
    }

    [Fact]
    public async Task WithoutCredentialsAScopeClosedByTheSettingsIsRefusedToEveryone()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, ("Auth:OpenScopes", "health,infer"));

        Assert.False(Registered<IAuthorizationHandlerProvider>(server));
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));
        using var config = await server.Client.GetAsync("/v2/models/m/config");
        Assert.Equal(HttpStatusCode.Forbidden, config.StatusCode);
        Assert.Contains("the metadata API is refused to everyone on this server", await config.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Forbidden, (await server.MetricsClient.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/health/ready")).StatusCode);
    }

    [Fact]
    public async Task WithATokenOnLoopbackBothAreRegisteredAndEveryProtectedApiNeedsIt()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        const string Secret = "reader-7c1f0e9d3b5a4c2e8f6d";
        await using var server = await RunningServer.StartAsync(repository.Path, ("Auth:Tokens:0", Entry("reader", Secret, "infer,metadata,metrics")));

        Assert.True(Registered<IAuthenticationSchemeProvider>(server));
        Assert.True(Registered<IAuthorizationHandlerProvider>(server));
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client.GetAsync("/v2/models/m/config")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client.PostAsync("/v2/models/m/infer", new StringContent("{}"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.MetricsClient.GetAsync("/metrics")).StatusCode);
        using var config = await SendAsync(server.Client, HttpMethod.Get, "/v2/models/m/config", bearer: Secret);
        Assert.Equal(HttpStatusCode.OK, config.StatusCode);
        // Health stays open by default, for probes that carry no credential.
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/health/ready")).StatusCode);
    }

    private static bool Registered<T>(RunningServer server) =>
        server.Host.Services.GetRequiredService<IServiceProviderIsService>().IsService(typeof(T));
}
