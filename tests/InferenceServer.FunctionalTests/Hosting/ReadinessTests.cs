using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using InferenceServer.Hosting;
using InferenceServer.Protocols.Grpc.Health;
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

    private static async Task<bool> GrpcServerReadyAsync(RunningServer server) =>
        ServerReadyResponse.Parser.ParseFrom(await GrpcCallAsync(server, "/inference.GRPCInferenceService/ServerReady", new ServerReadyRequest())).Ready;

    private static async Task<HealthCheckResponse.Types.ServingStatus> GrpcHealthAsync(RunningServer server) =>
        HealthCheckResponse.Parser.ParseFrom(await GrpcCallAsync(server, "/grpc.health.v1.Health/Check", new HealthCheckRequest())).Status;

    // One unary call framed by hand (HTTP/2 prior knowledge, length-prefixed message), so the test depends on no gRPC client library.
    private static async Task<byte[]> GrpcCallAsync(RunningServer server, string path, IMessage request)
    {
        using var client = new HttpClient { BaseAddress = server.Host.GrpcAddress };
        var message = request.ToByteArray();
        var frame = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Length);
        message.CopyTo(frame, 5);
        using var call = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(frame),
        };
        call.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        call.Headers.TryAddWithoutValidation("TE", "trailers");
        using var response = await client.SendAsync(call);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal("0", response.TrailingHeaders.TryGetValues("grpc-status", out var status) ? status.Single() : response.Headers.GetValues("grpc-status").Single());
        return body[5..];
    }
}
