using System.Net;
using Grpc.Core;
using InferenceServer.Protocols.Grpc.Messages;
using static InferenceServer.FunctionalTests.Access.AccessClient;
using static InferenceServer.FunctionalTests.Lifecycle.Lifecycle;

namespace InferenceServer.FunctionalTests.Access;

/// <summary>
/// Per-client rate limits: past its budget a client gets 429 with Retry-After (gRPC: RESOURCE_EXHAUSTED), other clients
/// and health probes do not notice. The period is a minute, so no budget refills while a test runs.
/// </summary>
public sealed class RateLimitTests
{
    private const string First = "first-9c1e5b3a77d04f26";
    private const string Second = "second-41d8cd98f00b204e";

    [Fact]
    public async Task AClientOverItsBudgetGets429WithRetryAfterAndOthersDoNot()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, ("RateLimit:Requests", "3"), ("RateLimit:PeriodSeconds", "60"),
            ("Auth:Tokens:0", Entry("first", First, "*")), ("Auth:Tokens:1", Entry("second", Second, "*")));

        for (var i = 0; i < 3; i++)
        {
            using var allowed = await SendAsync(server.Client, HttpMethod.Post, "/v2/models/m/infer", AddSubRequest(1), First);
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        }
        using var limited = await SendAsync(server.Client, HttpMethod.Post, "/v2/models/m/infer", AddSubRequest(1), First);
        Assert.Equal((HttpStatusCode)429, limited.StatusCode);
        var retryAfter = limited.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value.TotalSeconds, 1, 60);
        Assert.Contains("too many requests", await limited.Content.ReadAsStringAsync());

        // The budget is the credential's, over either protocol.
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var grpc = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var exhausted = await Assert.ThrowsAsync<RpcException>(() => grpc.ModelMetadataAsync(new ModelMetadataRequest { Name = "m" }, Bearer(First)).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, exhausted.StatusCode);
        Assert.Contains("retry after", exhausted.Status.Detail);

        // Another client has its own budget, and probes are never limited.
        Assert.Equal("m", (await grpc.ModelMetadataAsync(new ModelMetadataRequest { Name = "m" }, Bearer(Second))).Name);
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/health/ready")).StatusCode);
        }
        using var scrape = await SendAsync(server.MetricsClient, HttpMethod.Get, "/metrics", null, Second);
        var text = await scrape.Content.ReadAsStringAsync();
        Assert.Equal(1.0, Refused(text, "infer", "rate_limited"));
        Assert.Equal(1.0, Refused(text, "metadata", "rate_limited"));
    }

    [Fact]
    public async Task WithoutCredentialsEachAddressHasABudget()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, ("RateLimit:Requests", "2"), ("RateLimit:PeriodSeconds", "60"));

        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/m")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/m/config")).StatusCode);
        using var limited = await server.Client.GetAsync("/v2/models/m");
        Assert.Equal((HttpStatusCode)429, limited.StatusCode);
        Assert.NotNull(limited.Headers.RetryAfter);
    }

    [Fact]
    public async Task RateLimitingIsOffByDefault()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path);

        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/m")).StatusCode);
        }
    }
}
