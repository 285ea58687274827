using InferenceServer.Core.Inference;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Scheduling;

namespace InferenceServer.UnitTests.Scheduling;

/// <summary>The server's queue defaults (admission control): the bound they give a queue, the wait they give a request, and the scheduler refusing past them.</summary>
public sealed class QueueDefaultsTests
{
    [Fact]
    public void The_bound_while_shedding_is_the_batches_per_instance()
    {
        Assert.Equal(8, new QueueDefaults(1, 0).MaxQueueSize(instances: 2, batchCapacity: 4));
        Assert.Equal(3, new QueueDefaults(3, 0).MaxQueueSize(1, 1));
        Assert.Equal(0, QueueDefaults.Unbounded.MaxQueueSize(4, 8));
        Assert.Equal(int.MaxValue, new QueueDefaults(1_000, 0).MaxQueueSize(1_000_000, 1_000));
    }

    [Fact]
    public void A_level_without_a_policy_waits_the_server_default_which_a_request_may_shorten()
    {
        var queue = new RequestQueue(null, TimeSpan.TicksPerSecond, new QueueDefaults(1, 1_000));
        Assert.True(queue.TryGetLevel(0, out var level));
        Assert.Equal(1_000, level.TimeoutMicroseconds(0));
        Assert.Equal(400, level.TimeoutMicroseconds(400));
        Assert.Equal(1_000, level.TimeoutMicroseconds(5_000));
    }

    [Fact]
    public void A_policy_keeps_what_it_sets_and_takes_the_server_default_for_what_it_leaves_at_zero()
    {
        var batching = new ModelDynamicBatching
        {
            PriorityLevels = 2,
            DefaultPriorityLevel = 1,
            // Level 1: Triton's fields as given, the timeout from the server; no override allowed.
            DefaultQueuePolicy = new ModelQueuePolicy { MaxQueueSize = 3 },
            PriorityQueuePolicy = { [2] = new ModelQueuePolicy { DefaultTimeoutMicroseconds = 200, AllowTimeoutOverride = true } },
        };
        var queue = new RequestQueue(batching, TimeSpan.TicksPerSecond, new QueueDefaults(1, 1_000));
        queue.SetSheddingQueueSize(7);

        Assert.True(queue.TryGetLevel(1, out var first));
        Assert.Equal(3, first.ConfiguredMaxQueueSize);
        Assert.Equal(1_000, first.TimeoutMicroseconds(400));
        Assert.True(queue.TryGetLevel(2, out var second));
        // The server's bound, which holds only while the level sheds.
        Assert.Equal(0, second.ConfiguredMaxQueueSize);
        Assert.Equal(7, second.SheddingQueueSize);
        Assert.False(second.Shedding);
        Assert.Equal(200, second.TimeoutMicroseconds(0));
        Assert.Equal(100, second.TimeoutMicroseconds(100));
    }

    [Fact]
    public async Task A_burst_is_queued_whole_and_a_queue_that_does_not_drain_refuses_past_one_batch_per_instance()
    {
        await using var h = new DynamicBatchHarness(4, new ModelDynamicBatching(), queueDefaults: new QueueDefaults(1, 0));
        var blocker = await h.BlockInstanceAsync(99, 4);
        // A burst beyond one batch is queued: nothing has waited yet.
        var burst = Enumerable.Range(1, 6).Select(id => h.Send(id)).ToArray();
        Assert.All(burst, request => Assert.False(request.IsCompleted));

        // The oldest has waited longer than ShedAfter: the queue is not draining, and what arrives beyond the bound is refused.
        h.Clock.Advance(QueueDefaults.ShedAfter + TimeSpan.FromMilliseconds(1));
        var refused = await Assert.ThrowsAsync<InferenceException>(() => h.Send(20));
        Assert.Equal(InferenceErrorKind.Unavailable, refused.Kind);
        Assert.Equal(ModelScheduler.RetryAfter, refused.RetryAfter);
        Assert.False(refused.Scheduled);
        Assert.Contains("is overloaded", refused.Message);
        Assert.Contains("holds 4 requests", refused.Message);
        Assert.Equal([SchedulerFailure.Rejected], h.Observer.Failures);

        h.Instance.Open();
        await blocker;
        foreach (var (request, id) in burst.Select((request, i) => (request, i + 1)))
        {
            DynamicBatchHarness.AssertAddedOne(await request, id);
        }
        // Once the queue drained there is room again.
        DynamicBatchHarness.AssertAddedOne(await h.Send(21), 21);
    }
}
