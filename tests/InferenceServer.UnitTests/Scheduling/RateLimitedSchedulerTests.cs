using System.Collections.Concurrent;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Scheduling;
using InferenceServer.Core.Tensors;
using InferenceServer.UnitTests.TestDoubles;

namespace InferenceServer.UnitTests.Scheduling;

/// <summary>
/// Schedulers of two models sharing one rate-limiter resource, on their real instance threads: an instance runs only
/// while it holds the resource, a queued request cancelled or a model unloaded leaves nothing held, and whoever waited
/// is woken.
/// </summary>
public sealed class RateLimitedSchedulerTests : IAsyncLifetime
{
    // Only a guard against a hung test run; no assertion depends on how long anything takes.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly RateLimiter _limiter = new([]);
    private readonly List<ModelScheduler> _schedulers = [];
    private readonly List<AddOneInstance> _instances = [];
    private readonly List<Tensor> _inputs = [];

    private (ModelScheduler Scheduler, AddOneInstance Instance, RecordingSchedulerObserver Observer) Model(string name, uint priority = 1)
    {
        var observer = new RecordingSchedulerObserver();
        var (scheduler, instance) = Model(name, priority, observer);
        return (scheduler, instance, observer);
    }

    private static ModelRateLimiter Limits(uint priority)
    {
        var config = new ModelRateLimiter { Priority = priority };
        config.Resources.Add(new ModelRateLimiter.Types.Resource { Name = "R", Count = 1 });
        return config;
    }

    private (ModelScheduler Scheduler, AddOneInstance Instance) Model(string name, uint priority, ISchedulerObserver observer, TimeProvider? clock = null,
        QueueDefaults? queueDefaults = null)
    {
        var leases = _limiter.TryRegister(name, [new InstanceDemand(Limits(priority), 0, name + "_0")], out var problem);
        Assert.Null(problem);
        var instance = new AddOneInstance();
        var scheduler = new ModelScheduler(name, 0, null, [instance], clock, observer, queueDefaults, _limiter, leases);
        _schedulers.Add(scheduler);
        _instances.Add(instance);
        return (scheduler, instance);
    }

    private Task<Tensor[]> Send(ModelScheduler scheduler, int id, CancellationToken cancellationToken = default)
    {
        var input = AddOneInstance.Int32Tensor("INPUT0", [1, 2], [id * 100, (id * 100) + 1]);
        _inputs.Add(input);
        return scheduler.ScheduleAsync(new SchedulerWork([input], DynamicBatchHarness.Outputs, 0, 0), cancellationToken).AsTask();
    }

    private int Used => _limiter.Snapshot().Single().Used;

    [Fact]
    public async Task An_instance_runs_only_while_it_holds_the_shared_resource()
    {
        var (a, aInstance, _) = Model("a");
        var (b, bInstance, bObserver) = Model("b");
        aInstance.Close();
        var first = Send(a, 1);
        await aInstance.WaitForRunStartAsync().WaitAsync(Patience);

        // B's request is queued and its instance waits in line: no thread blocks for it, and it does not run.
        var second = Send(b, 2);
        Assert.Equal(1, _limiter.WaitingCount);
        Assert.False(second.IsCompleted);
        Assert.Empty(bInstance.BatchSizes);
        Assert.Equal(1, Used);

        aInstance.Open();
        DynamicBatchHarness.AssertAddedOne(await first.WaitAsync(Patience), 1);
        DynamicBatchHarness.AssertAddedOne(await second.WaitAsync(Patience), 2);
        Assert.Equal([1L], bInstance.BatchSizes);
        Assert.Equal(0, _limiter.WaitingCount);
        Assert.Equal(0, Used);
        // B's wait for the resource is reported (the metrics' nv_inference_resource_wait_*).
        Assert.Equal(1, bObserver.ResourceWaits);
    }

    [Fact]
    public async Task A_cancelled_request_leaves_its_instance_out_of_line_and_holds_nothing()
    {
        var (a, aInstance, _) = Model("a");
        var (b, bInstance, _) = Model("b");
        var (c, cInstance, _) = Model("c");
        aInstance.Close();
        var first = Send(a, 1);
        await aInstance.WaitForRunStartAsync().WaitAsync(Patience);
        using var cancel = new CancellationTokenSource();
        var cancelled = Send(b, 2, cancel.Token);
        var third = Send(c, 3);
        Assert.Equal(2, _limiter.WaitingCount);

        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(Patience));
        // B no longer waits: when A finishes, C (behind it in line) runs.
        Assert.Equal(1, _limiter.WaitingCount);
        aInstance.Open();
        await first.WaitAsync(Patience);
        DynamicBatchHarness.AssertAddedOne(await third.WaitAsync(Patience), 3);
        Assert.Empty(bInstance.BatchSizes);
        Assert.Equal(0, _limiter.WaitingCount);
        Assert.Equal(0, Used);

        // And B still serves afterwards: nothing of it was left behind in the limiter.
        DynamicBatchHarness.AssertAddedOne(await Send(b, 4).WaitAsync(Patience), 4);
        Assert.Equal(0, Used);
    }

    [Fact]
    public async Task A_request_that_times_out_while_its_instance_waits_leaves_nothing_held()
    {
        var (a, aInstance, _) = Model("a");
        var clock = new ManualTimeProvider();
        var (b, bInstance) = Model("b", 1, new RecordingSchedulerObserver(), clock, new QueueDefaults(0, 1_000));
        aInstance.Close();
        var first = Send(a, 1);
        await aInstance.WaitForRunStartAsync().WaitAsync(Patience);
        var late = Send(b, 2);
        Assert.Equal(1, _limiter.WaitingCount);

        // B's one request waits past --max-queue-wait-ms (1 ms here): it is refused, and B's instance leaves the line.
        clock.Advance(TimeSpan.FromMilliseconds(2));
        var refusal = await Assert.ThrowsAsync<Core.Inference.InferenceException>(() => late.WaitAsync(Patience));
        Assert.Contains("timed out", refusal.Message);
        Assert.Equal(0, _limiter.WaitingCount);

        aInstance.Open();
        await first.WaitAsync(Patience);
        Assert.Empty(bInstance.BatchSizes);
        Assert.Equal(0, Used);
    }

    [Fact]
    public async Task An_instance_added_to_a_serving_model_takes_its_place_in_the_limiter_and_leaves_it_when_removed()
    {
        var (a, aInstance, _) = Model("a");
        var added = new AddOneInstance();
        _instances.Add(added);
        Assert.True(a.TryAddInstance(added, new InstanceDemand(Limits(1), 0, "a_0")));
        // Two instances of R:1 each: still one copy, so they take turns.
        aInstance.Close();
        added.Close();
        var first = Send(a, 1);
        var second = Send(a, 2);
        await Task.WhenAny(aInstance.WaitForRunStartAsync(), added.WaitForRunStartAsync()).WaitAsync(Patience);
        Assert.Equal(1, _limiter.WaitingCount);
        Assert.Equal(1, Used);

        aInstance.Open();
        added.Open();
        await Task.WhenAll(first, second).WaitAsync(Patience);
        Assert.True(await a.RemoveInstanceAsync(added));
        Assert.Equal(0, Used);
        Assert.Equal(0, _limiter.WaitingCount);
        DynamicBatchHarness.AssertAddedOne(await Send(a, 3).WaitAsync(Patience), 3);
    }

    [Fact]
    public async Task Unloading_a_model_gives_back_what_it_holds_and_wakes_the_waiters()
    {
        var (a, aInstance, _) = Model("a");
        var (b, _, _) = Model("b");
        aInstance.Close();
        var first = Send(a, 1);
        await aInstance.WaitForRunStartAsync().WaitAsync(Patience);
        var queued = Send(a, 2);
        var waiting = Send(b, 3);

        // The unload drains A: its running and queued requests finish (taking their turns), then its place in the limiter goes.
        var unload = a.DisposeAsync().AsTask();
        aInstance.Open();
        await unload.WaitAsync(Patience);
        _schedulers.Remove(a);

        DynamicBatchHarness.AssertAddedOne(await first.WaitAsync(Patience), 1);
        DynamicBatchHarness.AssertAddedOne(await queued.WaitAsync(Patience), 2);
        DynamicBatchHarness.AssertAddedOne(await waiting.WaitAsync(Patience), 3);
        Assert.Equal(0, _limiter.WaitingCount);
        Assert.Equal(0, Used);
    }

    [Fact]
    public async Task Two_saturated_models_take_turns_by_priority()
    {
        var order = new ConcurrentQueue<string>();
        var (holder, holderInstance, _) = Model("holder");
        var (one, _) = Model("one", 1, new ExecutionOrderObserver("one", order));
        var (two, _) = Model("two", 2, new ExecutionOrderObserver("two", order));
        holderInstance.Close();
        var held = Send(holder, 0);
        await holderInstance.WaitForRunStartAsync().WaitAsync(Patience);
        var tasks = new List<Task<Tensor[]>>();
        for (var i = 1; i <= 60; i++)
        {
            tasks.Add(Send(one, i));
        }
        for (var i = 61; i <= 90; i++)
        {
            tasks.Add(Send(two, i));
        }

        holderInstance.Open();
        await held.WaitAsync(Patience);
        await Task.WhenAll(tasks).WaitAsync(Patience);

        // While both have work, priority 1 gets two turns for each of priority 2's: one, two, one, one, two, ...
        var firstThirty = order.Take(30).ToArray();
        Assert.Equal(20, firstThirty.Count(m => m == "one"), 1.0);
        Assert.Equal(90, order.Count);
        Assert.Equal(0, Used);
    }

    [Fact]
    public async Task Many_requests_from_two_models_all_finish_and_leave_nothing_held()
    {
        var (a, _, aObserver) = Model("a", priority: 1);
        var (b, _, bObserver) = Model("b", priority: 2);
        var tasks = new List<Task<Tensor[]>>();
        for (var i = 0; i < 200; i++)
        {
            tasks.Add(Send(i % 2 == 0 ? a : b, i));
        }
        for (var i = 0; i < tasks.Count; i++)
        {
            DynamicBatchHarness.AssertAddedOne(await tasks[i].WaitAsync(Patience), i);
        }

        Assert.Equal(100, aObserver.BatchSizes.Length);
        Assert.Equal(100, bObserver.BatchSizes.Length);
        Assert.Equal(0, _limiter.WaitingCount);
        Assert.Equal(0, Used);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var instance in _instances)
        {
            instance.Open();
        }
        foreach (var scheduler in _schedulers)
        {
            await scheduler.DisposeAsync();
        }
        // Every model gone: nothing is registered, so the resource itself is gone.
        Assert.Empty(_limiter.Snapshot());
        foreach (var input in _inputs)
        {
            input.Dispose();
        }
    }
}
