using InferenceServer.Core.Inference;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Scheduling;

namespace InferenceServer.UnitTests.Scheduling;

/// <summary>The server's queue defaults (admission control): the bound they give a queue, the wait they give a request, and the scheduler refusing past them.</summary>
public sealed class QueueDefaultsTests
{
    [Fact]
    public void The_bound_is_the_batches_per_instance_or_a_millisecond_of_work_whichever_is_more()
    {
        var defaults = new QueueDefaults(1, 0);
        // A slow model: one batch per instance.
        Assert.Equal(8, defaults.MaxQueueSize(instances: 2, batchCapacity: 4, TimeSpan.FromMilliseconds(10)));
        Assert.Equal(3, new QueueDefaults(3, 0).MaxQueueSize(1, 1, TimeSpan.FromMilliseconds(10)));
        // A fast one: as many batches as run in a millisecond.
        Assert.Equal(100, defaults.MaxQueueSize(1, 1, TimeSpan.FromMicroseconds(10)));
        Assert.Equal(2 * 334 * 4, defaults.MaxQueueSize(2, 4, TimeSpan.FromMicroseconds(3)));
        // Unbounded until the first batch has run, or when the server turns the bound off.
        Assert.Equal(0, defaults.MaxQueueSize(1, 1, TimeSpan.Zero));
        Assert.Equal(0, QueueDefaults.Unbounded.MaxQueueSize(4, 8, TimeSpan.FromMilliseconds(10)));
        Assert.Equal(int.MaxValue, defaults.MaxQueueSize(1_000_000, 1_000, TimeSpan.FromTicks(1)));
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
        queue.SetDefaultMaxQueueSize(7);

        Assert.True(queue.TryGetLevel(1, out var first));
        Assert.Equal(3, first.MaxQueueSize);
        Assert.Equal(1_000, first.TimeoutMicroseconds(400));
        Assert.True(queue.TryGetLevel(2, out var second));
        Assert.Equal(7, second.MaxQueueSize);
        Assert.Equal(200, second.TimeoutMicroseconds(0));
        Assert.Equal(100, second.TimeoutMicroseconds(100));
    }

    [Fact]
    public async Task Past_one_queued_batch_per_instance_a_request_is_refused_at_once_with_a_retry_hint()
    {
        await using var h = new DynamicBatchHarness(4, new ModelDynamicBatching(), queueDefaults: new QueueDefaults(1, 0));
        // Until a batch has run the scheduler does not know the model's speed, and bounds nothing.
        var first = await h.BlockInstanceAsync(99, 4);
        var early = Enumerable.Range(1, 6).Select(id => h.Send(id)).ToArray();
        // The batch takes 10 ms: the bound becomes one batch of 4 for the one instance.
        h.Clock.Advance(TimeSpan.FromMilliseconds(10));
        h.Instance.Open();
        await first;
        foreach (var (request, id) in early.Select((request, i) => (request, i + 1)))
        {
            DynamicBatchHarness.AssertAddedOne(await request, id);
        }

        var second = await h.BlockInstanceAsync(98, 4);
        var queued = Enumerable.Range(10, 4).Select(id => h.Send(id)).ToArray();
        var refused = await Assert.ThrowsAsync<InferenceException>(() => h.Send(20));
        Assert.Equal(InferenceErrorKind.Unavailable, refused.Kind);
        Assert.Equal(ModelScheduler.RetryAfter, refused.RetryAfter);
        Assert.False(refused.Scheduled);
        Assert.Contains("queue is full", refused.Message);
        Assert.Contains("1 batch(es) of 4 per instance for 1 instance(s)", refused.Message);
        Assert.Equal([SchedulerFailure.Rejected], h.Observer.Failures);

        h.Instance.Open();
        await second;
        foreach (var (request, id) in queued.Select((request, i) => (request, i + 10)))
        {
            DynamicBatchHarness.AssertAddedOne(await request, id);
        }
        // Once the queue drained there is room again.
        DynamicBatchHarness.AssertAddedOne(await h.Send(21), 21);
    }
}
