using System.Globalization;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Grpc.Core;
using InferenceServer.Protocols.Grpc.Messages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace InferenceServer.FunctionalTests.Grpc;

/// <summary>
/// A client that resets its call, on a stream and on a unary call, while its request runs and another waits in the
/// queue: the queued request leaves the queue, the running one's answer is dropped, and the server logs it all at
/// debug level, nothing as a warning or an error.
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed partial class GrpcCancellationTests
{
    // One request per batch, so the second request waits while the first runs.
    private const string SlowConfig = """
        max_batch_size: 1
        input [ { name: "X" data_type: TYPE_FP32 dims: [ 64, 64 ] }, { name: "ITERATIONS" data_type: TYPE_INT64 dims: [ 1 ] } ]
        output [ { name: "Y" data_type: TYPE_FP32 dims: [ 64, 64 ] } ]
        dynamic_batching { }
        """;

    // Enough work to keep the only instance busy for about a second or more.
    private const long Busy = 200_000;

    [Fact]
    public async Task A_stream_reset_by_its_client_is_a_debug_line_not_an_error()
    {
        using var repository = new TestRepository().AddFixture("slow", "slow_batch.onnx", SlowConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, ("Logging:LogLevel:InferenceServer", "Debug"));
        var log = Capture(server);
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

        using var cancellation = new CancellationTokenSource();
        using var call = client.ModelStreamInfer(cancellationToken: cancellation.Token);
        await call.RequestStream.WriteAsync(Slow(Busy, "running"));
        await WaitForPendingAsync(server, 0, afterAtLeast: TimeSpan.FromMilliseconds(300));
        await call.RequestStream.WriteAsync(Slow(1, "queued"));
        await WaitForPendingAsync(server, 1);
        await cancellation.CancelAsync();

        await WaitForPendingAsync(server, 0);
        await WaitForAsync(() => log.Entries.Any(e => e.Message.Contains("'running' was not sent", StringComparison.Ordinal)), "the running request's answer to be dropped");
        AssertOnlyDebug(log);
        Assert.Contains(log.Entries, e => e.Level == LogLevel.Debug && e.Message.Contains("ModelStreamInfer ended early: the client cancelled it", StringComparison.Ordinal));
        var stats = await client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "slow" });
        Assert.Equal(1UL, stats.ModelStats[0].ExecutionCount);
    }

    [Fact]
    public async Task A_unary_call_reset_by_its_client_is_a_debug_line_not_an_error()
    {
        using var repository = new TestRepository().AddFixture("slow", "slow_batch.onnx", SlowConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, ("Logging:LogLevel:InferenceServer", "Debug"));
        var log = Capture(server);
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

        using var cancellation = new CancellationTokenSource();
        var running = client.ModelInferAsync(Slow(Busy, "running"), cancellationToken: cancellation.Token);
        await WaitForPendingAsync(server, 0, afterAtLeast: TimeSpan.FromMilliseconds(300));
        var queued = client.ModelInferAsync(Slow(1, "queued"), cancellationToken: cancellation.Token);
        await WaitForPendingAsync(server, 1);
        await cancellation.CancelAsync();

        Assert.Equal(StatusCode.Cancelled, (await Assert.ThrowsAsync<RpcException>(() => running.ResponseAsync)).StatusCode);
        Assert.Equal(StatusCode.Cancelled, (await Assert.ThrowsAsync<RpcException>(() => queued.ResponseAsync)).StatusCode);
        await WaitForPendingAsync(server, 0);
        await WaitForAsync(async () => (await client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "slow" })).ModelStats[0].ExecutionCount == 1, "the running request to finish");
        // The running request's handler returns after the reset; give its end a moment to be logged.
        await WaitForAsync(() => log.Entries.Count(e => e.Message.Contains("ModelInfer ended early", StringComparison.Ordinal)) >= 1, "the reset to be logged");
        await Task.Delay(200);
        AssertOnlyDebug(log);
    }

    private static CapturedLog Capture(RunningServer server)
    {
        var log = new CapturedLog();
        server.Host.Services.GetRequiredService<ILoggerFactory>().AddProvider(log);
        return log;
    }

    private static void AssertOnlyDebug(CapturedLog log)
    {
        // Nothing is a warning or an error; Grpc.AspNetCore, which logs a cancelled call with its stack trace at
        // Information, says nothing.
        var loud = log.Entries.Where(e => e.Level >= LogLevel.Warning || (e.Level >= LogLevel.Information && e.Category.StartsWith("Grpc", StringComparison.Ordinal))).ToList();
        Assert.True(loud.Count == 0, "logged: " + string.Join("\n", loud.Select(e => $"{e.Level} {e.Category}: {e.Message} {e.Exception}")));
    }

    private static ModelInferRequest Slow(long iterations, string id)
    {
        var request = new ModelInferRequest { ModelName = "slow", Id = id };
        var x = new ModelInferRequest.Types.InferInputTensor { Name = "X", Datatype = "FP32" };
        x.Shape.AddRange([1, 64, 64]);
        var count = new ModelInferRequest.Types.InferInputTensor { Name = "ITERATIONS", Datatype = "INT64" };
        count.Shape.AddRange([1, 1]);
        request.Inputs.Add(x);
        request.Inputs.Add(count);
        var values = new byte[64 * 64 * 4];
        for (var i = 0; i < 64 * 64; i++)
        {
            BitConverter.TryWriteBytes(values.AsSpan(i * 4), 0.01f);
        }
        request.RawInputContents.Add(ByteString.CopyFrom(values));
        request.RawInputContents.Add(ByteString.CopyFrom(BitConverter.GetBytes(iterations)));
        return request;
    }

    private static async Task WaitForPendingAsync(RunningServer server, int expected, TimeSpan afterAtLeast = default)
    {
        await Task.Delay(afterAtLeast);
        string? last = null;
        await WaitForAsync(async () =>
        {
            var match = PendingCount().Match(await server.MetricsClient.GetStringAsync("/metrics"));
            last = match.Success ? match.Groups[1].Value : null;
            return int.Parse(last ?? "0", CultureInfo.InvariantCulture) == expected;
        }, $"{expected} pending request(s) (last seen: {last ?? "none"})");
    }

    private static Task WaitForAsync(Func<bool> condition, string what) => WaitForAsync(() => Task.FromResult(condition()), what);

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return;
            }
            await Task.Delay(10);
        }
        Assert.Fail("timed out waiting for " + what);
    }

    [GeneratedRegex("^nv_inference_pending_request_count\\{model=\"slow\",version=\"1\"\\} (\\d+)", RegexOptions.Multiline)]
    private static partial Regex PendingCount();
}
