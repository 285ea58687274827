using System.Net;
using Grpc.Core;
using Grpc.Health.V1;
using InferenceServer.Cli;
using InferenceServer.FunctionalTests.Grpc;
using InferenceServer.FunctionalTests.Http;
using InferenceServer.Hosting;
using InferenceServer.Protocols.Access;
using InferenceServer.Protocols.Grpc;
using InferenceServer.Protocols.Grpc.Messages;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using static InferenceServer.FunctionalTests.Lifecycle.Lifecycle;

namespace InferenceServer.FunctionalTests.Hosting;

/// <summary>Triton's restricted APIs (--http-restricted-api, --grpc-restricted-protocol) and the endpoint categories behind them.</summary>
public sealed class RestrictedApiTests
{
    private const string AdminGroup = "model-repository,statistics:admin-key=s3cret";

    [Fact]
    public async Task ARestrictedRestCategoryNeedsItsHeaderAndTheOthersStayOpen()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, ("Http:RestrictedApi:0", AdminGroup));

        using var bare = await server.Client.PostAsync("/v2/repository/index", null);
        Assert.Equal(HttpStatusCode.Forbidden, bare.StatusCode);
        var error = await bare.Content.ReadAsStringAsync();
        Assert.Contains("model-repository", error);
        Assert.Contains("'admin-key'", error);
        Assert.DoesNotContain("s3cret", error);

        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(server.Client, HttpMethod.Get, "/v2/models/stats", ("admin-key", "wrong"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(server.Client, HttpMethod.Get, "/v2/models/m/stats")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(server.Client, HttpMethod.Get, "/v2/models/stats", ("admin-key", "s3cret"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(server.Client, HttpMethod.Post, "/v2/repository/index", ("Admin-Key", "s3cret"))).StatusCode);

        // Categories not listed need nothing.
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/m/config")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.MetricsClient.GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public async Task GroupsHaveTheirOwnKeysAndMetricsCanBeRestricted()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path,
            ("Http:RestrictedApi:0", "inference:client-key=c"), ("Http:RestrictedApi:1", "metrics:scrape-token=p"));

        Assert.Equal(HttpStatusCode.Forbidden, (await server.MetricsClient.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(server.MetricsClient, HttpMethod.Get, "/metrics", ("scrape-token", "p"))).StatusCode);
        // One group's header does not open another's.
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(server.MetricsClient, HttpMethod.Get, "/metrics", ("client-key", "c"))).StatusCode);

        using var infer = new HttpRequestMessage(HttpMethod.Post, "/v2/models/m/infer") { Content = new StringContent(AddSubRequest(1)) };
        Assert.Equal(HttpStatusCode.Forbidden, (await server.Client.SendAsync(infer)).StatusCode);
        using var allowed = new HttpRequestMessage(HttpMethod.Post, "/v2/models/m/infer") { Content = new StringContent(AddSubRequest(1)) };
        allowed.Headers.Add("client-key", "c");
        Assert.Equal(HttpStatusCode.OK, (await server.Client.SendAsync(allowed)).StatusCode);
        // The extensions the server lacks are categorised too: generate is inference.
        Assert.Equal(HttpStatusCode.Forbidden, (await server.Client.PostAsync("/v2/models/m/generate", null)).StatusCode);
    }

    [Fact]
    public async Task ARestrictedGrpcCategoryIsPermissionDeniedWithoutItsMetadata()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path,
            ("Grpc:RestrictedProtocol:0", "model-repository:admin-key=s3cret"), ("Grpc:RestrictedProtocol:1", "health:probe=h"));
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

        var denied = await Assert.ThrowsAsync<RpcException>(() => client.RepositoryIndexAsync(new RepositoryIndexRequest()).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        Assert.Contains("triton-grpc-protocol-admin-key", denied.Status.Detail);
        Assert.DoesNotContain("s3cret", denied.Status.Detail);
        var index = await client.RepositoryIndexAsync(new RepositoryIndexRequest(), new Metadata { { "triton-grpc-protocol-admin-key", "s3cret" } });
        Assert.Contains(index.Models, m => m.Name == "m");

        // health covers ServerLive/Ready, ModelReady and grpc.health.v1.
        Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(() => client.ServerLiveAsync(new ServerLiveRequest()).ResponseAsync)).StatusCode);
        var health = new Health.HealthClient(channel);
        Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(() => health.CheckAsync(new HealthCheckRequest()).ResponseAsync)).StatusCode);
        var probe = new Metadata { { "triton-grpc-protocol-probe", "h" } };
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest(), probe)).Status);

        // Inference and metadata stay open, and the REST port is not restricted by the gRPC setting.
        Assert.Equal("m", (await client.ModelMetadataAsync(new ModelMetadataRequest { Name = "m" })).Name);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.PostAsync("/v2/repository/index", null)).StatusCode);
    }

    // A gRPC load's files are written to disk as its message is read, before the restriction is checked: a refused load
    // leaves none of them behind.
    [Fact]
    public async Task AGrpcUploadRefusedForItsMissingMetadataLeavesNoFiles()
    {
        using var repository = new TestRepository();
        using var uploads = new TestRepository();
        await using var server = await RunningServer.StartAsync(repository.Path, ("Server:ModelControlMode", "explicit"), ("Server:UploadDirectory", uploads.Path),
            ("Grpc:RestrictedProtocol:0", "model-repository:admin-key=s3cret"));
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var request = new RepositoryModelLoadRequest { ModelName = "m" };
        request.Parameters["config"] = new ModelRepositoryParameter { StringParam = Repository.RepositoryApi.AddSubJson() };
        request.Parameters["file:1/model.onnx"] = new ModelRepositoryParameter { BytesParam = Google.Protobuf.ByteString.CopyFrom(TestRepository.Fixture("add_sub.onnx")) };

        var denied = await Assert.ThrowsAsync<RpcException>(() => client.RepositoryModelLoadAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        Assert.Empty(Directory.GetFiles(uploads.Path, "*", SearchOption.AllDirectories));
        await client.RepositoryModelLoadAsync(request, new Metadata { { "triton-grpc-protocol-admin-key", "s3cret" } });
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));
    }

    [Theory]
    [InlineData("Http:RestrictedApi:0", "models:k=v", "'models' is not a category")]
    [InlineData("Http:RestrictedApi:0", "health", "expected <category>[,<category>...]:<key>=<value>")]
    [InlineData("Grpc:RestrictedProtocol:0", "metrics:k=v", "'metrics' is not a category")]
    [InlineData("Grpc:RestrictedProtocol:0", "health:k=", "the value must not be empty")]
    public void AMalformedGroupStopsTheStartNamingTheSetting(string key, string value, string problem)
    {
        var error = Assert.Throws<ArgumentException>(() => ServerHost.Create(new Dictionary<string, string?> { [key] = value, ["Server:ModelRepository"] = "models" }, RepositoryPaths.Root));
        Assert.Contains(problem, error.Message);
        Assert.Contains(key.StartsWith("Http", StringComparison.Ordinal) ? "--http-restricted-api" : "--grpc-restricted-protocol", error.Message);
    }

    [Fact]
    public void TheFlagsAreTritonsAndACategoryBelongsToOneGroup()
    {
        var settings = CommandLine.Parse(["--http-restricted-api", AdminGroup, "--http-restricted-api", "inference:k=v", "--grpc-restricted-protocol=health:k=v"]);
        Assert.Equal(AdminGroup, settings["Http:RestrictedApi:0"]);
        Assert.Equal("inference:k=v", settings["Http:RestrictedApi:1"]);
        Assert.Equal("health:k=v", settings["Grpc:RestrictedProtocol:0"]);

        var twice = Assert.Throws<UsageException>(() => CommandLine.Parse(["--grpc-restricted-protocol", "health:a=1", "--grpc-restricted-protocol", "statistics,health:b=2"]));
        Assert.Equal("--grpc-restricted-protocol 'statistics,health:b=2': health is already in another group; a category may be restricted by one group only", twice.Message);
        var unknown = Assert.Throws<UsageException>(() => CommandLine.Parse(["--http-restricted-api", "admin:k=v"]));
        Assert.StartsWith("--http-restricted-api 'admin:k=v': 'admin' is not a category; expected health, metadata, inference", unknown.Message);
    }

    [Fact]
    public async Task EveryRestRouteAndEveryGrpcMethodHasACategory()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path);

        var endpoints = server.Host.Services.GetRequiredService<EndpointDataSource>().Endpoints;
        var rest = endpoints.OfType<RouteEndpoint>().Where(e => e.RoutePattern.RawText!.StartsWith("/v2", StringComparison.Ordinal)).ToList();
        Assert.True(rest.Count >= 25);
        Assert.All(rest, e => Assert.NotNull(e.Metadata.GetMetadata<ApiCategory>()));

        var grpc = endpoints.Select(e => e.Metadata.GetMetadata<global::Grpc.AspNetCore.Server.GrpcMethodMetadata>()).OfType<global::Grpc.AspNetCore.Server.GrpcMethodMetadata>()
            .Where(m => m.Method.Name != "unimplementedMethod" && m.Method.ServiceName is InferenceGrpcService.ServiceName or "grpc.health.v1.Health")
            .ToList();
        Assert.Equal(GRPCInferenceService.Descriptor.Methods.Count, grpc.Count(m => m.Method.ServiceName == InferenceGrpcService.ServiceName));
        Assert.All(grpc, m => Assert.NotNull(endpoints.First(e => e.Metadata.GetMetadata<global::Grpc.AspNetCore.Server.GrpcMethodMetadata>() == m).Metadata.GetMetadata<ApiCategory>()));
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, (string Name, string Value)? header = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (header is { } h)
        {
            request.Headers.Add(h.Name, h.Value);
        }
        return await client.SendAsync(request);
    }
}
