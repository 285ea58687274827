using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Routing.Config;
using InferenceServer.Core.Routing.Shadow;
using InferenceServer.Core.Tensors;
using InferenceServer.Tests.Common;
using InferenceServer.UnitTests.Tensors;
using Microsoft.Extensions.Logging.Abstractions;
using static InferenceServer.UnitTests.Routing.Shadow.ShadowTensors;

namespace InferenceServer.UnitTests.Routing.Shadow;

/// <summary>
/// Copies that wait together run as one batched request where the shadow takes batches: stacking, cutting the answer
/// back per copy (fixed-size and BYTES), what may not be stacked, and the mirror's counts and buffers when it batches.
/// </summary>
public sealed class ShadowBatchTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static ShadowTraffic Config() => new() { Variant = "shadow", Percent = 100, QueueCapacity = 256, DecisionThreshold = 0.5 };

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(5);
        }
    }

    // A shadow that answers each row with its first feature, so a copy compares equal to a primary that did the same.
    private static InferenceResponse Echo(InferenceRequest request)
    {
        var features = request.Inputs[0];
        var rows = (int)features.Shape[0];
        var width = (int)features.Shape[1];
        var values = ReadFp32(features);
        var probability = new float[rows];
        for (var r = 0; r < rows; r++)
        {
            probability[r] = values[r * width];
        }
        return Response(Fp32("probability", [rows, 1], probability));
    }

    private static ShadowCopy[] Copies(ShadowMirror mirror, params InferenceRequest[] requests) => requests.Select(r => mirror.Sample(r)!).ToArray();

    [Fact]
    public void Inputs_stack_in_order_and_answers_cut_back_per_copy_for_numbers_and_bytes()
    {
        var leaked = PooledBufferProbe.Outstanding(() =>
        {
            using var a = Request("a", 1f, 2f);
            using var b = new InferenceRequest { ModelName = "income" };
            b.Inputs.Add(Fp32("features", [2, 2], 3f, 4f, 5f, 6f));
            ShadowCopy[] copies = [new(null!, a), new(null!, b)];

            using (var merged = ShadowBatch.Merge(copies, 3))
            {
                Assert.Equal([3L, 2L], merged.Inputs[0].Shape);
                Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], ReadFp32(merged.Inputs[0]));
                Assert.Null(merged.Parameters);
            }

            using var probability = Fp32("probability", [3, 1], 0.1f, 0.2f, 0.3f);
            using var label = Bytes("label", [3], "yes", "no", "maybe");
            var numbers = new int[3];
            var strings = new int[3];
            ShadowBatch.SliceBounds(probability, [1, 2], numbers);
            ShadowBatch.SliceBounds(label, [1, 2], strings);
            Assert.Equal([0.1f], MemoryMarshal.Cast<byte, float>(probability.Data[numbers[0]..numbers[1]]).ToArray());
            Assert.Equal([0.2f, 0.3f], MemoryMarshal.Cast<byte, float>(probability.Data[numbers[1]..numbers[2]]).ToArray());
            Assert.Equal(["yes"], Strings(label.Data[strings[0]..strings[1]]));
            Assert.Equal(["no", "maybe"], Strings(label.Data[strings[1]..strings[2]]));
            copies[0].Release();
            copies[1].Release();
        });
        Assert.Equal(0, leaked);
    }

    private static string[] Strings(ReadOnlySpan<byte> data)
    {
        var values = new List<string>();
        foreach (var element in BytesTensorLayout.Elements(data))
        {
            values.Add(System.Text.Encoding.UTF8.GetString(element));
        }
        return [.. values];
    }

    [Fact]
    public void Only_requests_with_the_same_inputs_outputs_and_row_shape_stack()
    {
        using var first = Request("a", 1f, 2f);
        using var wider = Request("b", 1f, 2f, 3f);
        using var same = Request("c", 5f, 6f);
        using var otherOutputs = Request("d", 5f, 6f);
        otherOutputs.RequestedOutputs.Add("probability");
        using var scalar = new InferenceRequest { ModelName = "income" };
        scalar.Inputs.Add(Fp32("features", [], 1f));

        Assert.True(ShadowBatch.Fits(first, same));
        Assert.False(ShadowBatch.Fits(first, wider));
        Assert.False(ShadowBatch.Fits(first, otherOutputs));
        Assert.Equal((1, 0), (ShadowBatch.Rows(first), ShadowBatch.Rows(scalar)));
    }

    [Fact]
    public void An_answer_without_the_rows_sent_cannot_be_cut_and_says_which_output()
    {
        using var probability = Fp32("probability", [2, 1], 0.1f, 0.2f);

        var error = Assert.Throws<InvalidOperationException>(() => ShadowBatch.SliceBounds(probability, [1, 2], new int[3]));

        Assert.Contains("output 'probability' has shape [2, 1], not 3 rows first", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Copies_that_wait_together_run_as_one_request_and_each_is_compared_with_its_own_rows()
    {
        var runs = new ConcurrentQueue<long[]>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = new SemaphoreSlim(0);
        var leaked = await PooledBufferProbe.OutstandingAsync(async () =>
        {
            await using var mirror = new ShadowMirror(Config(), async (request, _) =>
            {
                runs.Enqueue((long[])request.Inputs[0].Shape.Clone());
                entered.Release();
                await gate.Task;
                return Echo(request);
            }, TimeProvider.System, NullLogger.Instance, batchRows: () => 8);
            using var r0 = Request("r0", 0.5f, 9f);
            using var r1 = Request("r1", 0.25f, 9f);
            using var r2 = Request("r2", 0.75f, 9f);
            using var wide = Request("r3", 1f, 9f, 9f);
            var copies = Copies(mirror, r0, r1, r2, wide);

            // The first runs alone while the rest queue behind it; then r1 and r2 share a run, and the wider one runs alone.
            Send(copies[0], 0.5f);
            Assert.True(await entered.WaitAsync(Patience));
            Send(copies[1], 0.25f);
            Send(copies[2], 0.75f);
            Send(copies[3], 0f);
            gate.SetResult();
            await WaitUntil(() => mirror.Snapshot().Compared == 4);

            Assert.Equal([[1L, 2L], [2L, 2L], [1L, 3L]], runs.ToArray());
            var snapshot = mirror.Snapshot();
            Assert.Equal((4L, 0L, 0L), (snapshot.Compared, snapshot.Failed, snapshot.Dropped));
            // Each copy met its own row: only the wide one (shadow 1, primary 0) differs.
            var output = snapshot.Outputs.Single();
            Assert.Equal((4L, 1.0, 1L), (output.Elements, output.AbsoluteDifferenceSum, output.Flips));
        });
        Assert.Equal(0, leaked);
    }

    [Fact]
    public async Task A_batched_run_that_fails_counts_every_copy_as_failed_and_a_shadow_without_batches_runs_them_alone()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = new SemaphoreSlim(0);
        var sizes = new ConcurrentQueue<long>();
        var leaked = await PooledBufferProbe.OutstandingAsync(async () =>
        {
            var batches = 8;
            await using var mirror = new ShadowMirror(Config(), async (request, _) =>
            {
                sizes.Enqueue(request.Inputs[0].Shape[0]);
                entered.Release();
                await gate.Task;
                return request.Inputs[0].Shape[0] > 1 ? throw new InferenceException(InferenceErrorKind.Unavailable, "shadow down") : Echo(request);
            }, TimeProvider.System, NullLogger.Instance, batchRows: () => batches);
            using var request = Request("r", 0.5f);
            var copies = Copies(mirror, request, request, request, request, request, request);

            Send(copies[0], 0.5f);
            Assert.True(await entered.WaitAsync(Patience));
            Send(copies[1], 0.5f);
            Send(copies[2], 0.5f);
            gate.SetResult();
            await WaitUntil(() => mirror.Snapshot().Failed == 2);

            // The shadow stops taking batches (max_batch_size 0): what waits runs one copy at a time.
            batches = 0;
            gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            gate.SetResult();
            Send(copies[3], 0.5f);
            Send(copies[4], 0.5f);
            Send(copies[5], 0.5f);
            await WaitUntil(() => mirror.Snapshot().Compared == 4);

            Assert.Equal([1L, 2L, 1L, 1L, 1L], sizes.ToArray());
            Assert.Equal((4L, 2L), (mirror.Snapshot().Compared, mirror.Snapshot().Failed));
        });
        Assert.Equal(0, leaked);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(0)]
    public async Task Waiting_copies_hold_no_pinned_arrays_and_the_shadow_reads_aligned_memory(int batchRows)
    {
        // A busy shadow holds hundreds of copies at once: in the aligned pool, which keeps 32 arrays a size, each would be a
        // new array on the pinned object heap, and those bring on full collections. Whatever the shadow runs is aligned.
        var time = new ManualTimeProvider();
        var runs = new ConcurrentQueue<(bool Aligned, long Address, int Rows)>();
        var leaked = await PooledBufferProbe.OutstandingAsync(async () =>
        {
            await using var mirror = new ShadowMirror(Config(), (request, _) =>
            {
                var input = request.Inputs[0];
                runs.Enqueue((input.IsAligned, Address(input), (int)input.Shape[0]));
                return Task.FromResult(Echo(request));
            }, time, NullLogger.Instance, batchRows: () => batchRows);
            using var r0 = Request("r0", 0.5f, 9f);
            using var r1 = Request("r1", 0.25f, 9f);
            var copies = Copies(mirror, r0, r1);
            foreach (var copy in copies)
            {
                Assert.False(copy.Request.Inputs[0].IsAligned);
            }
            Send(copies[0], 0.5f);
            Send(copies[1], 0.25f);
            // Until a drain has asked the shadow's batch size, copies wait for the window either way.
            Assert.All(copies, copy => Assert.False(copy.PrimaryOutputs[0].IsAligned));
            time.Advance(ShadowMirror.GatherWindow);
            await WaitUntil(() => mirror.Snapshot().Compared == 2);

            var expected = batchRows > 0 ? new[] { (true, 0L, 2) } : [(true, 0L, 1), (true, 0L, 1)];
            Assert.Equal(expected, runs.Select(run => (run.Aligned, run.Address % AlignedBufferPool.Alignment, run.Rows)).ToArray());
            Assert.Equal((2L, 0L, 0L), (mirror.Snapshot().Compared, mirror.Snapshot().Failed, mirror.Snapshot().Dropped));
        });
        Assert.Equal(0, leaked);
    }

    private static unsafe long Address(Tensor tensor) => (long)Unsafe.AsPointer(ref MemoryMarshal.GetReference(tensor.Data));

    [Fact]
    public async Task Copies_gather_for_the_window_and_then_run_as_one_request()
    {
        var time = new ManualTimeProvider();
        var runs = new ConcurrentQueue<long[]>();
        var leaked = await PooledBufferProbe.OutstandingAsync(async () =>
        {
            await using var mirror = new ShadowMirror(Config(), (request, _) =>
            {
                runs.Enqueue((long[])request.Inputs[0].Shape.Clone());
                return Task.FromResult(Echo(request));
            }, time, NullLogger.Instance, batchRows: () => 8);
            using var r0 = Request("r0", 0.5f, 9f);
            using var r1 = Request("r1", 0.25f, 9f);
            using var r2 = Request("r2", 0.75f, 9f);
            var copies = Copies(mirror, r0, r1, r2);

            Send(copies[0], 0.5f);
            Send(copies[1], 0.25f);
            Send(copies[2], 0.75f);
            // The first copy armed the one gather timer; none woke a thread, and nothing runs before the window ends.
            Assert.Equal(1, time.ArmedTimers);
            time.Advance(ShadowMirror.GatherWindow - TimeSpan.FromTicks(1));
            Assert.Empty(runs);
            Assert.Equal(3, mirror.Snapshot().Queued);

            time.Advance(TimeSpan.FromTicks(1));
            await WaitUntil(() => mirror.Snapshot().Compared == 3);

            Assert.Equal([[3L, 2L]], runs.ToArray());
            var snapshot = mirror.Snapshot();
            Assert.Equal((3L, 0L, 0L, 0), (snapshot.Compared, snapshot.Failed, snapshot.Dropped, snapshot.Queued));
            Assert.Equal((3L, 0.0), (snapshot.Outputs.Single().Elements, snapshot.Outputs.Single().AbsoluteDifferenceSum));
        });
        Assert.Equal(0, leaked);
    }

    [Fact]
    public async Task A_full_run_of_copies_starts_at_once_without_waiting_for_the_window()
    {
        // The clock never moves: only the queue's length can start this run. A queue of 8 starts it at half: 4 copies.
        var time = new ManualTimeProvider();
        var runs = new ConcurrentQueue<long[]>();
        var config = Config();
        config.QueueCapacity = 8;
        var leaked = await PooledBufferProbe.OutstandingAsync(async () =>
        {
            await using var mirror = new ShadowMirror(config, (request, _) =>
            {
                runs.Enqueue((long[])request.Inputs[0].Shape.Clone());
                return Task.FromResult(Echo(request));
            }, time, NullLogger.Instance, batchRows: () => 8);
            using var request = Request("r", 0.5f, 9f);
            var copies = Copies(mirror, request, request, request, request);

            foreach (var copy in copies)
            {
                Send(copy, 0.5f);
            }
            await WaitUntil(() => mirror.Snapshot().Compared == 4);

            Assert.Equal([[4L, 2L]], runs.ToArray());
            Assert.Equal((4L, 0L, 0L), (mirror.Snapshot().Compared, mirror.Snapshot().Dropped, mirror.Snapshot().Failed));
        });
        Assert.Equal(0, leaked);
    }

    [Fact]
    public async Task Copies_still_gathering_when_the_route_goes_are_dropped_unrun_and_released()
    {
        var time = new ManualTimeProvider();
        var ran = 0;
        ShadowSnapshot? stopped = null;
        var leaked = await PooledBufferProbe.OutstandingAsync(async () =>
        {
            var mirror = new ShadowMirror(Config(), (request, _) =>
            {
                Interlocked.Increment(ref ran);
                return Task.FromResult(Echo(request));
            }, time, NullLogger.Instance, batchRows: () => 8);
            using var request = Request("r", 0.5f, 9f);
            var copies = Copies(mirror, request, request);
            Send(copies[0], 0.5f);
            Send(copies[1], 0.5f);

            await mirror.DisposeAsync();
            // The window ends after the mirror stopped: nothing may run.
            time.Advance(ShadowMirror.GatherWindow);
            stopped = mirror.Snapshot();
        });

        Assert.Equal(0, leaked);
        Assert.Equal(0, ran);
        Assert.Equal((2L, 2L, 0L, 0), (stopped!.Enqueued, stopped.Dropped, stopped.Compared, stopped.Queued));
    }

    private static void Send(ShadowCopy copy, float probability)
    {
        using var primary = Response(Fp32("probability", [1, 1], probability));
        copy.Send(primary);
    }
}
