using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using InferenceServer.LoadTest.Inputs;
using InferenceServer.LoadTest.Targets;
using InferenceServer.LoadTest.Tests.Functional;
using InferenceServer.Protocols.Grpc.Messages;

namespace InferenceServer.LoadTest.Tests.Grpc;

/// <summary>The gRPC target (Grpc.Net.Client, pre-serialized requests, unread responses) against the real server on loopback.</summary>
public sealed class GrpcTargetTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static readonly ModelMetadata Simple = new("simple", ["1"], "onnxruntime_onnx",
        [new TensorMetadata("INPUT0", "INT32", [-1, 16]), new TensorMetadata("INPUT1", "INT32", [-1, 16])],
        [new TensorMetadata("OUTPUT0", "INT32", [-1, 16]), new TensorMetadata("OUTPUT1", "INT32", [-1, 16])]);

    [Fact]
    public async Task Concurrent_calls_spread_over_several_channels_all_succeed_and_reach_the_server()
    {
        var before = await InferenceCountAsync();
        var inputs = InputGenerator.Generate(Simple, batchSize: 1, count: 4, seed: 1);
        await using var target = new GrpcTarget(server.GrpcAddress, connections: 3, "simple", null, inputs, TimeSpan.FromSeconds(30));

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 300).Select(i => target.SendAsync(0, i % target.InputCount, CancellationToken.None).AsTask()));

        Assert.Equal(4, target.InputCount);
        Assert.All(outcomes, o => Assert.True(o.Success, o.Detail));
        Assert.Equal(before + 300, await InferenceCountAsync());
    }

    [Fact]
    public async Task A_status_from_the_server_is_an_outcome_with_its_code_and_message()
    {
        var inputs = InputGenerator.Generate(Simple, batchSize: 1, count: 1, seed: 1);
        await using var unknown = new GrpcTarget(server.GrpcAddress, 1, "no_such_model", null, inputs, null);
        await using var wrongVersion = new GrpcTarget(server.GrpcAddress, 1, "simple", "7", inputs, null);

        var notFound = await unknown.SendAsync(0, 0, CancellationToken.None);
        var badVersion = await wrongVersion.SendAsync(0, 0, CancellationToken.None);

        Assert.False(notFound.Success);
        Assert.Equal(ErrorKey.Grpc(StatusCode.NotFound), notFound.Error);
        Assert.Equal("gRPC NOT_FOUND", notFound.Error.ToString());
        Assert.Contains("no_such_model", notFound.Detail, StringComparison.Ordinal);
        Assert.Equal(ErrorKey.Grpc(StatusCode.NotFound), badVersion.Error);
    }

    [Fact]
    public async Task A_call_past_its_deadline_is_deadline_exceeded()
    {
        var inputs = InputGenerator.Generate(Simple, batchSize: 1, count: 1, seed: 1);
        await using var target = new GrpcTarget(server.GrpcAddress, 1, "simple", null, inputs, TimeSpan.FromTicks(1));

        var outcome = await target.SendAsync(0, 0, CancellationToken.None);

        Assert.Equal(ErrorKey.Grpc(StatusCode.DeadlineExceeded), outcome.Error);
    }

    [Fact]
    public async Task A_refused_connection_throws_the_transport_error_which_counts_as_a_connection_error()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await using var target = new GrpcTarget(new Uri($"http://127.0.0.1:{port}"), 1, "simple", null, InputGenerator.Generate(Simple, 1, 1, 1), null);

        var error = await Record.ExceptionAsync(() => target.SendAsync(0, 0, CancellationToken.None).AsTask());

        Assert.True(error is HttpRequestException or SocketException, error?.ToString());
        Assert.Equal(ErrorKey.Connection, ErrorClassifier.Classify(error!, timedOut: false));
    }

    [Fact]
    public async Task A_call_cancelled_by_the_run_throws_a_cancellation_which_counts_as_a_timeout()
    {
        await using var target = new GrpcTarget(server.GrpcAddress, 1, "simple", null, InputGenerator.Generate(Simple, 1, 1, 1), null);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => target.SendAsync(0, 0, cancelled.Token).AsTask());

        Assert.Equal(ErrorKey.Timeout, ErrorClassifier.Classify(error, timedOut: true));
    }

    private async Task<ulong> InferenceCountAsync()
    {
        var statistics = await new GRPCInferenceService.GRPCInferenceServiceClient(server.Channel).ModelStatisticsAsync(new ModelStatisticsRequest { Name = "simple" });
        return statistics.ModelStats.Single().InferenceCount;
    }
}
