using InferenceServer.Core.Repository;
using InferenceServer.Core.Scheduling;
using InferenceServer.Core.Tensors;
using InferenceServer.UnitTests.TestDoubles;

namespace InferenceServer.UnitTests.Scheduling;

/// <summary>How the scheduler with batching on forms batches: sizes, preferred sizes, the delay, shapes, slicing.</summary>
public sealed class DynamicBatchFormationTests
{
    private static readonly TimeSpan Microsecond = TimeSpan.FromTicks(10);

    [Fact]
    public async Task Batches_form_up_to_max_batch_size_and_the_rest_waits_for_the_delay()
    {
        await using var h = new DynamicBatchHarness(4, new ModelDynamicBatching { MaxQueueDelayMicroseconds = 10_000 });
        var tasks = new Task<Tensor[]>[10];
        for (var i = 0; i < tasks.Length; i++)
        {
            tasks[i] = h.Send(i);
        }
        for (var i = 0; i < 8; i++)
        {
            DynamicBatchHarness.AssertAddedOne(await tasks[i], i);
        }
        await h.Clock.WaitForArmedTimerAsync();
        Assert.False(tasks[8].IsCompleted);
        h.Clock.Advance(TimeSpan.FromMilliseconds(10));
        DynamicBatchHarness.AssertAddedOne(await tasks[8], 8);
        DynamicBatchHarness.AssertAddedOne(await tasks[9], 9);

        Assert.Equal([4L, 4, 2], h.Instance.BatchSizes);
        Assert.Equal([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]], h.Instance.RowHeads.Select(r => r.Select(v => v / 100).ToArray()).ToArray());
    }

    [Fact]
    public async Task A_preferred_size_dispatches_without_waiting_for_the_delay()
    {
        await using var h = new DynamicBatchHarness(8, new ModelDynamicBatching { PreferredBatchSize = { 4 }, MaxQueueDelayMicroseconds = 1_000_000 });
        var tasks = new List<Task<Tensor[]>> { h.Send(0), h.Send(1), h.Send(2) };
        await h.Clock.WaitForArmedTimerAsync();
        Assert.Empty(h.Instance.BatchSizes);

        tasks.Add(h.Send(3));
        for (var i = 0; i < 4; i++)
        {
            DynamicBatchHarness.AssertAddedOne(await tasks[i], i);
        }
        Assert.Equal([4L], h.Instance.BatchSizes);
    }

    [Fact]
    public async Task The_largest_preferred_size_the_queue_can_form_goes_first()
    {
        await using var h = new DynamicBatchHarness(8, new ModelDynamicBatching { PreferredBatchSize = { 2, 4 }, MaxQueueDelayMicroseconds = 1_000_000 });
        var blocker = await h.BlockInstanceAsync(99, 8);
        var tasks = new Task<Tensor[]>[5];
        for (var i = 0; i < tasks.Length; i++)
        {
            tasks[i] = h.Send(i);
        }
        h.Instance.Open();
        await blocker;
        for (var i = 0; i < 4; i++)
        {
            DynamicBatchHarness.AssertAddedOne(await tasks[i], i);
        }
        await h.Clock.WaitForArmedTimerAsync();
        h.Clock.Advance(TimeSpan.FromSeconds(1));
        DynamicBatchHarness.AssertAddedOne(await tasks[4], 4);

        Assert.Equal([8L, 4, 1], h.Instance.BatchSizes);
    }

    [Fact]
    public async Task The_delay_holds_a_partial_batch_until_the_clock_passes_it()
    {
        await using var h = new DynamicBatchHarness(8, new ModelDynamicBatching { MaxQueueDelayMicroseconds = 2_000 });
        var tasks = new[] { h.Send(0), h.Send(1), h.Send(2) };
        await h.Clock.WaitForArmedTimerAsync();

        h.Clock.Advance(1_999 * Microsecond);
        Assert.Empty(h.Instance.BatchSizes);
        Assert.DoesNotContain(tasks, t => t.IsCompleted);

        h.Clock.Advance(Microsecond);
        for (var i = 0; i < tasks.Length; i++)
        {
            DynamicBatchHarness.AssertAddedOne(await tasks[i], i);
        }
        Assert.Equal([3L], h.Instance.BatchSizes);
        Assert.All(h.Observer.QueueTimes, t => Assert.Equal(TimeSpan.FromMilliseconds(2), t));
    }

    [Fact]
    public async Task Zero_delay_dispatches_at_once_and_a_lone_request_passes_straight_through()
    {
        await using var h = new DynamicBatchHarness(8, new ModelDynamicBatching { MaxQueueDelayMicroseconds = 0 });
        DynamicBatchHarness.AssertAddedOne(await h.Send(7, rows: 3), 7, rows: 3);
        Assert.Equal([3L], h.Instance.BatchSizes);
    }

    [Fact]
    public async Task Requests_with_different_non_batch_dimensions_never_share_a_batch()
    {
        await using var h = new DynamicBatchHarness(8, new ModelDynamicBatching { MaxQueueDelayMicroseconds = 1_000 });
        var a = h.Send(1, width: 2);
        var b = h.Send(2, width: 3);
        var c = h.Send(3, width: 2);
        await h.Clock.WaitForArmedTimerAsync();
        h.Clock.Advance(TimeSpan.FromMilliseconds(1));

        DynamicBatchHarness.AssertAddedOne(await a, 1, width: 2);
        DynamicBatchHarness.AssertAddedOne(await b, 2, width: 3);
        DynamicBatchHarness.AssertAddedOne(await c, 3, width: 2);
        Assert.Equal([[1, 3], [2]], h.Instance.RowHeads.Select(r => r.Select(v => v / 100).ToArray()).ToArray());
    }

    [Fact]
    public async Task Each_request_gets_its_own_rows_of_an_int32_batch()
    {
        await using var h = new DynamicBatchHarness(6, new ModelDynamicBatching { MaxQueueDelayMicroseconds = 1_000_000 });
        var a = h.Send(1, rows: 2, width: 3);
        var b = h.Send(2, rows: 1, width: 3);
        var c = h.Send(3, rows: 3, width: 3);

        DynamicBatchHarness.AssertAddedOne(await a, 1, rows: 2, width: 3);
        DynamicBatchHarness.AssertAddedOne(await b, 2, rows: 1, width: 3);
        DynamicBatchHarness.AssertAddedOne(await c, 3, rows: 3, width: 3);
        Assert.Equal([6L], h.Instance.BatchSizes);
    }

    [Fact]
    public async Task Each_request_gets_its_own_elements_of_a_bytes_batch()
    {
        await using var h = new DynamicBatchHarness(3, new ModelDynamicBatching { MaxQueueDelayMicroseconds = 1_000_000 });
        using var first = AddOneInstance.BytesTensor("INPUT0", [1, 2], "a", "");
        using var second = AddOneInstance.BytesTensor("INPUT0", [2, 2], "hello", "wörld", "x", "longer string");
        var a = h.Scheduler.ScheduleAsync(new SchedulerWork([first], DynamicBatchHarness.Outputs, 0, 0), default).AsTask();
        var b = h.Scheduler.ScheduleAsync(new SchedulerWork([second], DynamicBatchHarness.Outputs, 0, 0), default).AsTask();

        var outA = Assert.Single(await a);
        var outB = Assert.Single(await b);
        Assert.Equal([1L, 2], outA.Shape);
        Assert.Equal(["a+1", "+1"], AddOneInstance.ReadStrings(outA));
        Assert.Equal([2L, 2], outB.Shape);
        Assert.Equal(["hello+1", "wörld+1", "x+1", "longer string+1"], AddOneInstance.ReadStrings(outB));
        Assert.Equal([3L], h.Instance.BatchSizes);
        outA.Dispose();
        outB.Dispose();
    }

    [Fact]
    public async Task The_observer_sees_every_request_queued_dequeued_and_succeeded()
    {
        var h = new DynamicBatchHarness(4, new ModelDynamicBatching());
        var tasks = new Task<Tensor[]>[9];
        for (var i = 0; i < tasks.Length; i++)
        {
            tasks[i] = h.Send(i);
        }
        for (var i = 0; i < tasks.Length; i++)
        {
            DynamicBatchHarness.AssertAddedOne(await tasks[i], i);
        }
        await h.DisposeAsync();

        Assert.Equal(9, h.Observer.Queued);
        Assert.Equal(9, h.Observer.Dequeued);
        Assert.Equal(0, h.Observer.Pending);
        Assert.Equal(9, h.Observer.Succeeded);
        Assert.Empty(h.Observer.Failures);
        Assert.Equal(9, h.Observer.BatchSizes.Sum());
        Assert.Equal(h.Instance.BatchSizes.Select(s => (int)s), h.Observer.BatchSizes);
    }
}
