using InferenceServer.Core.Repository;
using InferenceServer.Core.Scheduling;
using InferenceServer.Core.Tensors;
using DataType = InferenceServer.Core.Tensors.DataType;
using InferenceServer.UnitTests.TestDoubles;

namespace InferenceServer.UnitTests.Scheduling;

/// <summary>The priority queue and its policy on their own, without batches or instances.</summary>
public sealed class RequestQueueTests
{
    private static readonly string[] Outputs = ["OUTPUT0"];

    private static readonly ModelDynamicBatching ThreeLevels = new()
    {
        PriorityLevels = 3,
        DefaultPriorityLevel = 2,
        PriorityQueuePolicy =
        {
            [1] = new ModelQueuePolicy { TimeoutAction = ModelQueuePolicy.Types.TimeoutAction.Delay, DefaultTimeoutMicroseconds = 10 },
            [3] = new ModelQueuePolicy { TimeoutAction = ModelQueuePolicy.Types.TimeoutAction.Reject, DefaultTimeoutMicroseconds = 10, MaxQueueSize = 1 },
        },
    };

    private static QueuedRequest Queue(RequestQueue queue, int id, int priority, long now)
    {
        Assert.True(queue.TryGetLevel(priority, out var level));
        var request = new QueuedRequest(null!)
        {
            Work = new SchedulerWork([AddOneInstance.Int32Tensor("INPUT0", [1, 1], id)], Outputs, priority, 0),
            Level = level,
            BatchSize = id,
        };
        queue.Enqueue(request, now);
        return request;
    }

    private static int[] Walk(RequestQueue queue)
    {
        var ids = new List<int>();
        for (var request = queue.First; request is not null; request = queue.After(request))
        {
            ids.Add(request.BatchSize);
        }
        return [.. ids];
    }

    [Fact]
    public void The_walk_is_by_priority_then_arrival_with_delayed_requests_after_their_level()
    {
        // 1 µs is 10 ticks of a TimeSpan-frequency clock.
        var queue = new RequestQueue(ThreeLevels, TimeSpan.TicksPerSecond);
        var late = Queue(queue, 1, 1, now: 0);
        Queue(queue, 2, 0, now: 0);
        Queue(queue, 3, 3, now: 50);
        Queue(queue, 4, 1, now: 50);
        Assert.Equal([1, 4, 2, 3], Walk(queue));
        Assert.Equal(100, queue.NextDeadline);

        // Request 1 timed out under DELAY: it stays, behind level 1's fresh request, before level 2.
        Assert.Null(queue.Expire(now: 100));
        Assert.Equal([4, 1, 2, 3], Walk(queue));
        Assert.Equal(4, queue.Count);
        Assert.Equal(RequestState.Queued, late.State);

        // At 150 both level 1's fresh request (DELAY) and level 3's (REJECT) time out.
        var rejected = queue.Expire(now: 150);
        Assert.Equal(3, rejected!.BatchSize);
        Assert.Null(rejected.NextExpired);
        Assert.Equal(RequestState.Finished, rejected.State);
        Assert.Equal([1, 4, 2], Walk(queue));
        Assert.Equal(3, queue.Count);
        Assert.Equal(long.MaxValue, queue.NextDeadline);

        queue.Remove(late);
        Assert.Equal([4, 2], Walk(queue));
        Assert.Equal(2, queue.Count);
    }

    [Fact]
    public void Priorities_map_to_levels_with_zero_meaning_the_default()
    {
        var queue = new RequestQueue(ThreeLevels, TimeSpan.TicksPerSecond);
        Assert.True(queue.TryGetLevel(0, out var level));
        Assert.Equal(2, level.Level);
        Assert.True(queue.TryGetLevel(3, out level));
        Assert.Equal(3, level.Level);
        Assert.False(queue.TryGetLevel(4, out _));
        Assert.False(queue.TryGetLevel(-1, out _));

        Queue(queue, 1, 3, now: 0);
        Assert.True(queue.TryGetLevel(3, out level));
        Assert.True(level.IsFull(now: 0, shedAfter: 0));
    }

    [Fact]
    public void Without_levels_every_priority_shares_one_unbounded_queue_without_timeouts()
    {
        var queue = new RequestQueue(null, TimeSpan.TicksPerSecond);
        Assert.False(queue.Prioritized);
        foreach (var priority in new[] { 0, 1, 5, -3 })
        {
            Assert.True(queue.TryGetLevel(priority, out var level));
            Assert.Equal(1, level.Level);
            Assert.Equal(0, level.TimeoutMicroseconds(1_000));
        }
        for (var i = 1; i <= 100; i++)
        {
            Queue(queue, i, i % 3, now: i);
        }
        Assert.Equal(Enumerable.Range(1, 100), Walk(queue));
        Assert.Equal(long.MaxValue, queue.NextDeadline);
    }
}
