using System.Collections.Concurrent;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Routing.Config;
using InferenceServer.Core.Routing.Shadow;
using InferenceServer.Core.Tensors;
using InferenceServer.UnitTests.Tensors;
using InferenceServer.UnitTests.TestDoubles;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static InferenceServer.UnitTests.Routing.Shadow.ShadowTensors;

namespace InferenceServer.UnitTests.Routing.Shadow;

/// <summary>
/// The mirror with a fake shadow (a delegate) and real pooled tensors: sampling, the bounded queue, failures, the
/// counts, and that every buffer it copies goes back to its pool however the copy ends.
/// </summary>
public sealed class ShadowMirrorTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static ShadowTraffic Config(double percent = 100, uint capacity = 256, string decisionOutput = "") => new()
    {
        Variant = "shadow",
        Percent = percent,
        QueueCapacity = capacity,
        DecisionOutput = decisionOutput,
        DecisionThreshold = 0.5,
    };

    private static ShadowMirror Mirror(ShadowTraffic config, Func<InferenceRequest, CancellationToken, Task<InferenceResponse>> runShadow,
        TimeProvider? time = null, ILogger? logger = null) =>
        new(config, runShadow, time ?? TimeProvider.System, logger ?? NullLogger.Instance);

    private static readonly Func<InferenceRequest, CancellationToken, Task<InferenceResponse>> Unused =
        (_, _) => Task.FromException<InferenceResponse>(new InvalidOperationException("the shadow should not run"));

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(5);
        }
    }

    // Sends the copy with a primary answer of these outputs and disposes that answer at once, as a caller does.
    private static void Send(ShadowCopy copy, params Tensor[] outputs)
    {
        using var primary = Response(outputs);
        copy.Send(primary);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(50)]
    public async Task Samples_the_configured_share_of_100000_requests_within_one_point(double percent)
    {
        await using var mirror = Mirror(Config(percent), Unused);
        using var request = Request("r", 1f, 2f);
        var sampled = 0L;
        for (var i = 0; i < 100_000; i++)
        {
            if (mirror.Sample(request) is { } copy)
            {
                sampled++;
                copy.Cancel();
            }
        }

        Assert.InRange(sampled / 1000.0, percent - 1, percent + 1);
        var snapshot = mirror.Snapshot();
        Assert.Equal((sampled, sampled, 0L), (snapshot.Sampled, snapshot.Canceled, snapshot.Enqueued));
    }

    [Fact]
    public async Task Every_request_is_sampled_at_100_percent_and_none_at_0()
    {
        await using var all = Mirror(Config(100), Unused);
        await using var none = Mirror(Config(0), Unused);
        using var request = Request("r", 1f);
        for (var i = 0; i < 1000; i++)
        {
            var copy = all.Sample(request);
            Assert.NotNull(copy);
            copy.Cancel();
            Assert.Null(none.Sample(request));
        }
        Assert.Equal(1000, all.Snapshot().Sampled);
        Assert.Equal(0, none.Snapshot().Sampled);
    }

    [Fact]
    public async Task A_request_that_is_not_sampled_costs_no_allocation()
    {
        // Sampled once in 10^11: the test runs the decision, never a copy.
        await using var mirror = Mirror(Config(1e-9), Unused);
        using var request = Request("r", 1f);
        Assert.Null(mirror.Sample(request));

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            Assert.Null(mirror.Sample(request));
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public async Task The_copy_carries_the_inputs_outputs_id_and_parameters_not_the_priority_and_outlives_the_primary()
    {
        var seen = new TaskCompletionSource<(string Model, string? Version, string Id, int Priority, long Timeout, string Parameters, string Outputs, string Input, float[] Values)>();
        await using var mirror = Mirror(Config(), (request, _) =>
        {
            var input = Assert.Single(request.Inputs);
            seen.TrySetResult((request.ModelName, request.ModelVersion, request.Id, request.Priority, request.TimeoutMicroseconds,
                string.Join(",", request.Parameters!.OrderBy(p => p.Key).Select(p => $"{p.Key}={p.Value}")), string.Join(",", request.RequestedOutputs),
                $"{input.Name} {input.DataType.ProtocolName()} [{string.Join(",", input.Shape)}]", ReadFp32(input)));
            return Task.FromResult(Response(Fp32("probability", [1, 1], 0.5f)));
        });

        var primary = new InferenceRequest { ModelName = "income", ModelVersion = "1", Id = "req-7", Priority = 1, TimeoutMicroseconds = 5000 };
        primary.Inputs.Add(Fp32("features", [1, 3], 1f, 2f, 3f));
        primary.RequestedOutputs.Add("probability");
        primary.SetParameter("routing_key", "user-1");
        primary.SetParameter("tag", "a");
        var copy = mirror.Sample(primary);
        Assert.NotNull(copy);
        // The primary's run and its caller release the request before the shadow runs: the copy does not share its buffers.
        primary.Dispose();
        Send(copy, Fp32("probability", [1, 1], 0.5f));

        var request = await seen.Task.WaitAsync(Patience);
        Assert.Equal(("income", null, "req-7", 0, 0L, "routing_key=user-1,tag=a", "probability", "features FP32 [1,3]"),
            (request.Model, request.Version, request.Id, request.Priority, request.Timeout, request.Parameters, request.Outputs, request.Input));
        Assert.Equal([1f, 2f, 3f], request.Values);
        await WaitUntil(() => mirror.Snapshot().Compared == 1);
        var output = Assert.Single(mirror.Snapshot().Outputs);
        Assert.Equal(new ShadowOutputSnapshot("probability", 1, 0, 1, 0, 0, 1, 0), output);
    }

    [Fact]
    public async Task Comparisons_accumulate_mean_absolute_differences_and_flips_per_output()
    {
        var answers = new ConcurrentQueue<InferenceResponse>();
        var leaked = await PooledBufferProbe.OutstandingAsync(async () =>
        {
            await using var mirror = Mirror(Config(), (_, _) => Task.FromResult(answers.TryDequeue(out var answer) ? answer : throw new InvalidOperationException("no answer")));
            for (var i = 0; i < 2; i++)
            {
                answers.Enqueue(Response(
                    Fp32("probability", [4, 1], 0.5f, 0.25f, 0.5f, 0.125f),
                    Of("label", DataType.Int64, [4], 1L, 1L, 1L, 0L),
                    Fp32("embedding", [4, 2], 1f, 1f, 1f, 1f, 1f, 1f, 1f, 3f),
                    Fp32("only_shadow", [1], 1f)));
            }
            for (var i = 0; i < 2; i++)
            {
                using var request = Request($"r{i}", 1f);
                var copy = mirror.Sample(request)!;
                Send(copy,
                    Fp32("probability", [4, 1], 0.25f, 0.75f, 0.5f, 0f),
                    Of("label", DataType.Int64, [4], 1L, 0L, 1L, 1L),
                    Fp32("embedding", [4, 2], 1f, 1f, 1f, 1f, 1f, 1f, 1f, 1f),
                    Fp32("only_primary", [1], 1f));
            }
            await WaitUntil(() => mirror.Snapshot().Compared == 2);

            var snapshot = mirror.Snapshot();
            // Per answer: probability 0.25 + 0.5 + 0 + 0.125, two flips; label 1 + 1, two flips; embedding 2 over 8, no decisions.
            Assert.Equal((2L, 2L, 0L, 16L, 8L, 0.5), (snapshot.Enqueued, snapshot.Compared, snapshot.Failed, snapshot.Decisions, snapshot.Flips, snapshot.FlipRate));
            Assert.Equal(
                [
                    new ShadowOutputSnapshot("embedding", 2, 0, 16, 4, 0, 0, 0),
                    new ShadowOutputSnapshot("label", 2, 0, 8, 4, 0, 8, 4),
                    new ShadowOutputSnapshot("probability", 2, 0, 8, 1.75, 0, 8, 4),
                ],
                snapshot.Outputs);
            Assert.Equal(new[] { 0.25, 0.5, 0.21875 }, snapshot.Outputs.Select(o => o.MeanAbsoluteDifference).ToArray());
            Assert.Equal((16L, 8L), mirror.DecisionCounts());
        });
        Assert.Equal(0, leaked);
    }

    [Fact]
    public async Task A_named_decision_output_is_the_only_one_counted_for_flips()
    {
        await using var mirror = Mirror(Config(decisionOutput: "probability"), (_, _) => Task.FromResult(Response(
            Fp32("probability", [2, 1], 0.75f, 0.75f), Of("label", DataType.Int64, [2], 0L, 0L))));
        using var request = Request("r", 1f);
        Send(mirror.Sample(request)!, Fp32("probability", [2, 1], 0.25f, 0.75f), Of("label", DataType.Int64, [2], 1L, 1L));
        await WaitUntil(() => mirror.Snapshot().Compared == 1);

        Assert.Equal((2L, 1L), mirror.DecisionCounts());
        Assert.Equal(0, mirror.Snapshot().Outputs.Single(o => o.Output == "label").Decisions);
    }

    [Fact]
    public async Task A_full_queue_drops_and_counts_the_copy_and_returns_its_buffers()
    {
        var entered = new SemaphoreSlim(0);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answers = new ConcurrentQueue<InferenceResponse>();
        var leaked = await PooledBufferProbe.OutstandingAsync(async () =>
        {
            await using var mirror = Mirror(Config(capacity: 2), async (_, _) =>
            {
                entered.Release();
                await gate.Task;
                return answers.TryDequeue(out var answer) ? answer : throw new InvalidOperationException("no answer");
            });
            for (var i = 0; i < 3; i++)
            {
                answers.Enqueue(Response(Fp32("probability", [1], 0.5f)));
            }
            using var request = Request("r", 1f, 2f);
            var copies = new ShadowCopy[4];
            for (var i = 0; i < copies.Length; i++)
            {
                copies[i] = mirror.Sample(request)!;
            }

            Send(copies[0], Fp32("probability", [1], 0.5f));
            Assert.True(await entered.WaitAsync(Patience));
            Send(copies[1], Fp32("probability", [1], 0.5f));
            Send(copies[2], Fp32("probability", [1], 0.5f));
            Send(copies[3], Fp32("probability", [1], 0.5f));
            // Full when sampled: dropped before anything is copied.
            Assert.Null(mirror.Sample(request));

            var full = mirror.Snapshot();
            Assert.Equal((5L, 3L, 2L, 2), (full.Sampled, full.Enqueued, full.Dropped, full.Queued));

            gate.SetResult();
            await WaitUntil(() => mirror.Snapshot().Compared == 3);
            var done = mirror.Snapshot();
            Assert.Equal((3L, 2L, 0L, 0), (done.Compared, done.Dropped, done.Failed, done.Queued));
        });
        Assert.Equal(0, leaked);
    }

    [Fact]
    public async Task Shadow_failures_are_counted_and_reported_at_most_once_per_interval_never_thrown()
    {
        var time = new ManualTimeProvider();
        var logger = new ListLogger();
        var calls = 0;
        var leaked = await PooledBufferProbe.OutstandingAsync(async () =>
        {
            await using var mirror = Mirror(Config(), (_, _) => Interlocked.Increment(ref calls) switch
            {
                1 => throw new InvalidOperationException("shadow defect"),
                2 => Task.FromException<InferenceResponse>(new InferenceException(InferenceErrorKind.Unavailable, "model 'income' version 2 is not ready: loading")),
                3 => FailLater(),
                4 => Task.FromResult<InferenceResponse>(null!),
                _ => Task.FromException<InferenceResponse>(new InferenceException(InferenceErrorKind.Unavailable, "model 'income' version 2 is unloading")),
            }, time: time, logger: logger);
            using var request = Request("r", 1f);

            async Task Fail(int expected)
            {
                Send(mirror.Sample(request)!, Fp32("probability", [1], 0.5f));
                await WaitUntil(() => mirror.Snapshot().Failed == expected);
            }

            await Fail(1);
            var first = Assert.Single(logger.Entries);
            Assert.Equal(LogLevel.Warning, first.Level);
            Assert.Equal("Shadow variant 'shadow' failed 1 time(s) since the last report, most recently: shadow defect. The primary's answers are unaffected", first.Message);
            Assert.IsType<InvalidOperationException>(first.Exception);

            await Fail(2);
            await Fail(3);
            await Fail(4);
            Assert.Single(logger.Entries);

            time.Advance(TimeSpan.FromSeconds(10));
            await Fail(5);
            Assert.Equal(2, logger.Entries.Count);
            var second = logger.Entries.Last();
            Assert.Equal("Shadow variant 'shadow' failed 4 time(s) since the last report, most recently: model 'income' version 2 is unloading. The primary's answers are unaffected", second.Message);
            Assert.Null(second.Exception);
            Assert.Equal((5L, 5L, 0L), (mirror.Snapshot().Enqueued, mirror.Snapshot().Failed, mirror.Snapshot().Compared));
        });
        Assert.Equal(0, leaked);

        static async Task<InferenceResponse> FailLater()
        {
            await Task.Yield();
            throw new InferenceException(InferenceErrorKind.Internal, "the shadow's session failed");
        }
    }

    [Fact]
    public async Task A_copy_whose_primary_failed_is_canceled_and_released_and_only_the_first_ending_counts()
    {
        await using var mirror = Mirror(Config(), (_, _) => Task.FromResult(Response(Fp32("probability", [1], 0.5f))));
        using var request = Request("r", 1f, 2f);

        Assert.Equal(0, PooledBufferProbe.Outstanding(() =>
        {
            var copy = mirror.Sample(request)!;
            copy.Cancel();
            // A send after a cancel (or a second cancel) does nothing: nothing is copied or queued.
            Send(copy, Fp32("probability", [1], 0.5f));
            copy.Cancel();
        }));

        var sent = mirror.Sample(request)!;
        Send(sent, Fp32("probability", [1], 0.5f));
        sent.Cancel();
        await WaitUntil(() => mirror.Snapshot().Compared == 1);

        var snapshot = mirror.Snapshot();
        Assert.Equal((2L, 1L, 1L, 1L, 0L), (snapshot.Sampled, snapshot.Canceled, snapshot.Enqueued, snapshot.Compared, snapshot.Dropped));
    }

    [Fact]
    public async Task Disposal_drops_what_is_queued_cancels_what_runs_and_returns_every_buffer()
    {
        var entered = new SemaphoreSlim(0);
        var canceled = 0;
        ShadowSnapshot? stopped = null;
        var leaked = await PooledBufferProbe.OutstandingAsync(async () =>
        {
            var mirror = Mirror(Config(capacity: 4), async (_, token) =>
            {
                entered.Release();
                try
                {
                    await Task.Delay(Timeout.Infinite, token);
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Increment(ref canceled);
                    throw;
                }
                throw new InvalidOperationException("unreachable");
            });
            using var request = Request("r", 1f, 2f);
            var copies = new ShadowCopy[4];
            for (var i = 0; i < copies.Length; i++)
            {
                copies[i] = mirror.Sample(request)!;
            }
            Send(copies[0], Fp32("probability", [1], 0.5f));
            Assert.True(await entered.WaitAsync(Patience));
            Send(copies[1], Fp32("probability", [1], 0.5f));
            Send(copies[2], Fp32("probability", [1], 0.5f));

            await mirror.DisposeAsync();
            // The primary of the last copy answers after the route's mirror stopped.
            Send(copies[3], Fp32("probability", [1], 0.5f));
            Assert.Null(mirror.Sample(request));
            stopped = mirror.Snapshot();
        });

        Assert.Equal(0, leaked);
        Assert.Equal(1, canceled);
        Assert.Equal((4L, 3L, 4L, 0L, 0L, 0), (stopped!.Sampled, stopped.Enqueued, stopped.Dropped, stopped.Failed, stopped.Compared, stopped.Queued));
    }

    [Fact]
    public async Task Counts_add_up_under_concurrent_callers()
    {
        const int Requests = 2000;
        // The shadow answers what the primary answers: the input, back.
        await using var mirror = Mirror(Config(capacity: 16), (request, _) =>
            Task.FromResult(Response(Fp32("probability", [1, 1], ReadFp32(request.Inputs[0])[0]))));

        await Parallel.ForAsync(0, Requests, new ParallelOptions { MaxDegreeOfParallelism = 4 }, (i, _) =>
        {
            using var request = Request($"r{i}", i % 2);
            var copy = mirror.Sample(request);
            if (copy is not null)
            {
                Send(copy, Fp32("probability", [1, 1], i % 2));
            }
            return ValueTask.CompletedTask;
        });
        await WaitUntil(() => mirror.Snapshot() is { } s && s.Compared + s.Dropped == Requests);

        var snapshot = mirror.Snapshot();
        Assert.Equal(((long)Requests, Requests - snapshot.Dropped, 0L, 0L, 0), (snapshot.Sampled, snapshot.Enqueued, snapshot.Failed, snapshot.Flips, snapshot.Queued));
        Assert.Equal(snapshot.Compared, snapshot.Decisions);
        Assert.Equal(new ShadowOutputSnapshot("probability", snapshot.Compared, 0, snapshot.Compared, 0, 0, snapshot.Compared, 0), Assert.Single(snapshot.Outputs));
    }
}
