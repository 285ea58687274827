using InferenceServer.Core.Repository;
using InferenceServer.Core.Scheduling;
using InferenceServer.Core.Tensors;
using InferenceServer.UnitTests.TestDoubles;

namespace InferenceServer.UnitTests.Scheduling;

/// <summary>
/// The scheduler, with batching off and on, grows and shrinks their instance set while serving (an instance_group count change
/// without a reload): a removed instance finishes its work first and is handed back undisposed; an
/// added one takes queued work; no request is lost or answered twice.
/// </summary>
public sealed class SchedulerResizeTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    public static TheoryData<string> Kinds => ["batching off", "batching on"];

    private static ModelScheduler Create(string kind, IReadOnlyList<AddOneInstance> instances) =>
        new("m", 4, kind == "batching on" ? new ModelDynamicBatching() : null, instances);

    private static Task<Tensor[]> Send(IScheduler scheduler, int id) =>
        scheduler.ScheduleAsync(new SchedulerWork([AddOneInstance.Int32Tensor("INPUT0", [1, 2], id * 100, id * 100 + 1)], ["OUTPUT0"], 0, 0), CancellationToken.None).AsTask();

    private static async Task AssertAnswered(Task<Tensor[]> task, int id)
    {
        var outputs = await task.WaitAsync(Patience);
        var output = Assert.Single(outputs);
        Assert.Equal(new[] { id * 100 + 1, id * 100 + 2 }, AddOneInstance.ReadInt32(output));
        output.Dispose();
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(5);
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_busy_instance_is_removed_only_after_its_request_finishes(string kind)
    {
        var (busy, other) = (new AddOneInstance(), new AddOneInstance());
        var scheduler = Create(kind, [busy, other]);
        other.Close();
        busy.Close();
        // One at a time, so the batcher cannot put both in one batch: each instance runs one.
        var first = Send(scheduler, 1);
        await WaitUntil(() => busy.BatchSizes.Length + other.BatchSizes.Length == 1);
        var second = Send(scheduler, 2);
        await WaitUntil(() => busy.BatchSizes.Length == 1 && other.BatchSizes.Length == 1);

        var removal = scheduler.RemoveInstanceAsync(busy).AsTask();
        await Task.Delay(100);
        Assert.False(removal.IsCompleted, "the removal must wait for the running request");
        busy.Open();
        Assert.True(await removal.WaitAsync(Patience));
        other.Open();
        await AssertAnswered(first, 1);
        await AssertAnswered(second, 2);

        // Only the remaining instance runs from now on; the removed one belongs to the caller.
        var runsBefore = busy.BatchSizes.Length;
        await Task.WhenAll(Enumerable.Range(3, 10).Select(i => AssertAnswered(Send(scheduler, i), i)));
        Assert.Equal(runsBefore, busy.BatchSizes.Length);
        await scheduler.DisposeAsync();
        Assert.Equal(0, busy.DisposeCount);
        Assert.Equal(1, other.DisposeCount);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task An_added_instance_takes_queued_work(string kind)
    {
        var (first, added) = (new AddOneInstance(), new AddOneInstance());
        var scheduler = Create(kind, [first]);
        first.Close();
        var blocked = Send(scheduler, 1);
        await WaitUntil(() => first.BatchSizes.Length == 1);
        var queued = Send(scheduler, 2);

        Assert.True(scheduler.TryAddInstance(added));
        await AssertAnswered(queued, 2);
        Assert.Single(added.BatchSizes);
        first.Open();
        await AssertAnswered(blocked, 1);

        await scheduler.DisposeAsync();
        Assert.Equal(1, added.DisposeCount);
        Assert.False(scheduler.TryAddInstance(new AddOneInstance()), "a disposed scheduler takes no instance");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task The_last_instance_and_strangers_are_not_removed(string kind)
    {
        var only = new AddOneInstance();
        await using var scheduler = Create(kind, [only]);

        Assert.False(await scheduler.RemoveInstanceAsync(only));
        Assert.False(await scheduler.RemoveInstanceAsync(new AddOneInstance()));
        await AssertAnswered(Send(scheduler, 1), 1);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Growing_and_shrinking_under_load_loses_no_request(string kind)
    {
        var initial = new AddOneInstance();
        var scheduler = Create(kind, [initial]);
        var live = new List<AddOneInstance> { initial };
        var removed = new List<AddOneInstance>();
        using var stop = new CancellationTokenSource();
        var sent = 0;
        var senders = Enumerable.Range(0, 4).Select(s => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var id = (s * 10_000) + (i % 10_000);
                await AssertAnswered(Send(scheduler, id), id);
                Interlocked.Increment(ref sent);
            }
        })).ToArray();

        for (var round = 0; round < 20; round++)
        {
            var instance = new AddOneInstance();
            Assert.True(scheduler.TryAddInstance(instance));
            live.Add(instance);
            await Task.Delay(5);
            if (live.Count > 2)
            {
                var victim = live[round % live.Count];
                Assert.True(await scheduler.RemoveInstanceAsync(victim).AsTask().WaitAsync(Patience));
                live.Remove(victim);
                removed.Add(victim);
            }
        }
        await stop.CancelAsync();
        await Task.WhenAll(senders).WaitAsync(Patience);
        await scheduler.DisposeAsync();

        Assert.True(sent > 0);
        Assert.All(live, i => Assert.Equal(1, i.DisposeCount));
        Assert.All(removed, i => Assert.Equal(0, i.DisposeCount));
    }
}
