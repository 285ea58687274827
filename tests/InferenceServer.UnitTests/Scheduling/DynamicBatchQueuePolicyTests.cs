using InferenceServer.Core.Inference;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Scheduling;
using InferenceServer.Core.Tensors;

namespace InferenceServer.UnitTests.Scheduling;

/// <summary>Priorities, queue sizes and queue timeouts of the scheduler with batching on.</summary>
public sealed class DynamicBatchQueuePolicyTests
{
    private static int[][] RequestIds(int[][] rowHeads) => rowHeads.Select(r => r.Select(v => v / 100).ToArray()).ToArray();

    [Fact]
    public async Task A_high_priority_request_runs_before_a_flood_of_low_priority_ones()
    {
        await using var h = new DynamicBatchHarness(4, new ModelDynamicBatching { PriorityLevels = 2, DefaultPriorityLevel = 2 });
        var blocker = await h.BlockInstanceAsync(99, 4);
        var low = new Task<Tensor[]>[8];
        for (var i = 0; i < low.Length; i++)
        {
            low[i] = h.Send(i);
        }
        var high = h.Send(50, priority: 1);
        h.Instance.Open();

        await blocker;
        DynamicBatchHarness.AssertAddedOne(await high, 50);
        for (var i = 0; i < low.Length; i++)
        {
            DynamicBatchHarness.AssertAddedOne(await low[i], i);
        }
        // The high-priority request heads the next batch; the low ones fill it in arrival order.
        Assert.Equal([[99, 99, 99, 99], [50, 0, 1, 2], [3, 4, 5, 6], [7]], RequestIds(h.Instance.RowHeads));
    }

    [Fact]
    public async Task A_priority_outside_the_levels_is_an_invalid_argument()
    {
        await using var h = new DynamicBatchHarness(4, new ModelDynamicBatching { PriorityLevels = 2, DefaultPriorityLevel = 1 });
        var e = await Assert.ThrowsAsync<InferenceException>(() => h.Send(1, priority: 3));
        Assert.Equal(InferenceErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("1 to 2", e.Message);
    }

    [Fact]
    public async Task Without_priority_levels_a_request_priority_is_ignored()
    {
        await using var h = new DynamicBatchHarness(4, new ModelDynamicBatching());
        DynamicBatchHarness.AssertAddedOne(await h.Send(1, priority: 3), 1);
        Assert.Empty(h.Observer.Failures);
    }

    [Fact]
    public async Task A_full_queue_rejects_with_the_queue_size_in_the_message()
    {
        await using var h = new DynamicBatchHarness(4, new ModelDynamicBatching
        {
            MaxQueueDelayMicroseconds = 1_000_000,
            DefaultQueuePolicy = new ModelQueuePolicy { MaxQueueSize = 2 },
        });
        var blocker = await h.BlockInstanceAsync(99, 4);
        var a = h.Send(1);
        var b = h.Send(2);

        var e = await Assert.ThrowsAsync<InferenceException>(() => h.Send(3));
        Assert.Equal(InferenceErrorKind.Unavailable, e.Kind);
        Assert.Contains("queue is full (max_queue_size 2)", e.Message);
        Assert.Equal([SchedulerFailure.Rejected], h.Observer.Failures);

        h.Instance.Open();
        await blocker;
        // The freed instance makes the drainer arm the delay timer; advancing before that would move the clock under
        // a drainer that read the old time, leave the timer due a second later than the clock, and hang the test.
        await h.Clock.WaitForArmedTimerAsync();
        h.Clock.Advance(TimeSpan.FromSeconds(1));
        DynamicBatchHarness.AssertAddedOne(await a, 1);
        DynamicBatchHarness.AssertAddedOne(await b, 2);
    }

    [Fact]
    public async Task A_reject_timeout_fails_the_request_which_never_runs()
    {
        await using var h = new DynamicBatchHarness(4, new ModelDynamicBatching
        {
            DefaultQueuePolicy = new ModelQueuePolicy { TimeoutAction = ModelQueuePolicy.Types.TimeoutAction.Reject, DefaultTimeoutMicroseconds = 5_000 },
        });
        var blocker = await h.BlockInstanceAsync(99, 4);
        var late = h.Send(1);
        await h.Clock.WaitForArmedTimerAsync();
        h.Clock.Advance(TimeSpan.FromMilliseconds(5));

        var e = await Assert.ThrowsAsync<InferenceException>(() => late);
        // Triton's UNAVAILABLE "Request timeout expired": shed under load, with the same retry hint as a full queue.
        Assert.Equal(InferenceErrorKind.Unavailable, e.Kind);
        Assert.Equal(ModelScheduler.RetryAfter, e.RetryAfter);
        Assert.True(e.Scheduled);
        Assert.Contains("timed out after 5000 µs in the queue", e.Message);

        h.Instance.Open();
        await blocker;
        await h.DisposeAsync();
        Assert.Equal([4L], h.Instance.BatchSizes);
        Assert.Equal([SchedulerFailure.Rejected], h.Observer.Failures);
        Assert.Equal(0, h.Observer.Pending);
    }

    [Fact]
    public async Task A_timer_that_fires_before_the_deadline_is_armed_again()
    {
        // Half a millisecond early: the drain it triggers sees the request not yet expired and must wait again.
        await using var h = new DynamicBatchHarness(1, new ModelDynamicBatching
        {
            DefaultQueuePolicy = new ModelQueuePolicy { TimeoutAction = ModelQueuePolicy.Types.TimeoutAction.Reject, DefaultTimeoutMicroseconds = 5_000 },
        }, clockView: clock => new TestDoubles.EarlyTimerClock(clock, TimeSpan.FromMicroseconds(500)));
        var blocker = await h.BlockInstanceAsync(99, 1);
        var late = h.Send(1);
        await h.Clock.WaitForArmedTimerAsync();

        h.Clock.Advance(TimeSpan.FromMicroseconds(4_500));
        await h.Clock.WaitForArmedTimerAsync().WaitAsync(TimeSpan.FromSeconds(10));
        h.Clock.Advance(TimeSpan.FromMicroseconds(500));

        var e = await Assert.ThrowsAsync<InferenceException>(() => late.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(InferenceErrorKind.Unavailable, e.Kind);
        Assert.False(blocker.IsCompleted);
        h.Instance.Open();
        await blocker;
    }

    [Fact]
    public async Task A_delay_timeout_runs_after_the_requests_of_its_level_that_did_not_time_out()
    {
        await using var h = new DynamicBatchHarness(1, new ModelDynamicBatching
        {
            DefaultQueuePolicy = new ModelQueuePolicy { TimeoutAction = ModelQueuePolicy.Types.TimeoutAction.Delay, DefaultTimeoutMicroseconds = 1_000 },
        });
        var blocker = await h.BlockInstanceAsync(99, 1);
        var expired = h.Send(1);
        await h.Clock.WaitForArmedTimerAsync();
        h.Clock.Advance(TimeSpan.FromMilliseconds(1));
        var fresh = h.Send(2);
        var fresher = h.Send(3);
        h.Instance.Open();

        await blocker;
        DynamicBatchHarness.AssertAddedOne(await expired, 1);
        DynamicBatchHarness.AssertAddedOne(await fresh, 2);
        DynamicBatchHarness.AssertAddedOne(await fresher, 3);
        Assert.Equal([[99], [2], [3], [1]], RequestIds(h.Instance.RowHeads));
        Assert.Empty(h.Observer.Failures);
    }

    [Fact]
    public async Task With_allow_timeout_override_a_request_shortens_its_timeout()
    {
        await using var h = new DynamicBatchHarness(4, new ModelDynamicBatching
        {
            DefaultQueuePolicy = new ModelQueuePolicy { DefaultTimeoutMicroseconds = 10_000, AllowTimeoutOverride = true },
        });
        var blocker = await h.BlockInstanceAsync(99, 4);
        var request = h.Send(1, timeoutMicroseconds: 2_000);
        await h.Clock.WaitForArmedTimerAsync();
        h.Clock.Advance(TimeSpan.FromMilliseconds(2));

        var e = await Assert.ThrowsAsync<InferenceException>(() => request);
        Assert.Contains("timed out after 2000 µs", e.Message);
        h.Instance.Open();
        await blocker;
    }

    [Fact]
    public async Task Without_allow_timeout_override_the_request_timeout_is_ignored()
    {
        await using var h = new DynamicBatchHarness(4, new ModelDynamicBatching
        {
            DefaultQueuePolicy = new ModelQueuePolicy { DefaultTimeoutMicroseconds = 10_000, AllowTimeoutOverride = false },
        });
        var blocker = await h.BlockInstanceAsync(99, 4);
        var request = h.Send(1, timeoutMicroseconds: 2_000);
        await h.Clock.WaitForArmedTimerAsync();
        h.Clock.Advance(TimeSpan.FromMilliseconds(2));
        Assert.False(request.IsCompleted);

        h.Clock.Advance(TimeSpan.FromMilliseconds(8));
        var e = await Assert.ThrowsAsync<InferenceException>(() => request);
        Assert.Contains("timed out after 10000 µs", e.Message);
        h.Instance.Open();
        await blocker;
    }

    [Fact]
    public async Task A_request_may_not_lengthen_the_default_timeout()
    {
        await using var h = new DynamicBatchHarness(4, new ModelDynamicBatching
        {
            DefaultQueuePolicy = new ModelQueuePolicy { DefaultTimeoutMicroseconds = 1_000, AllowTimeoutOverride = true },
        });
        var blocker = await h.BlockInstanceAsync(99, 4);
        var request = h.Send(1, timeoutMicroseconds: 60_000_000);
        await h.Clock.WaitForArmedTimerAsync();
        h.Clock.Advance(TimeSpan.FromMilliseconds(1));

        var e = await Assert.ThrowsAsync<InferenceException>(() => request);
        Assert.Contains("timed out after 1000 µs", e.Message);
        h.Instance.Open();
        await blocker;
    }

    [Fact]
    public async Task Each_priority_level_uses_its_own_queue_policy()
    {
        await using var h = new DynamicBatchHarness(4, new ModelDynamicBatching
        {
            PriorityLevels = 2,
            DefaultPriorityLevel = 2,
            MaxQueueDelayMicroseconds = 1_000_000,
            PriorityQueuePolicy = { [1] = new ModelQueuePolicy { MaxQueueSize = 1 } },
        });
        var blocker = await h.BlockInstanceAsync(99, 4);
        var low = new[] { h.Send(1), h.Send(2) };
        var high = h.Send(3, priority: 1);

        var e = await Assert.ThrowsAsync<InferenceException>(() => h.Send(4, priority: 1));
        Assert.Contains("priority level 1 queue is full (max_queue_size 1)", e.Message);

        h.Instance.Open();
        await blocker;
        // The freed instance makes the drainer arm the delay timer; advancing before that would move the clock under
        // a drainer that read the old time, leave the timer due a second later than the clock, and hang the test.
        await h.Clock.WaitForArmedTimerAsync();
        h.Clock.Advance(TimeSpan.FromSeconds(1));
        DynamicBatchHarness.AssertAddedOne(await high, 3);
        DynamicBatchHarness.AssertAddedOne(await low[0], 1);
        DynamicBatchHarness.AssertAddedOne(await low[1], 2);
    }
}
