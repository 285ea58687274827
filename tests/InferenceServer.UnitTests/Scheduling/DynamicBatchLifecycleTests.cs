using InferenceServer.Core.Backends;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Scheduling;
using InferenceServer.Core.Tensors;

namespace InferenceServer.UnitTests.Scheduling;

/// <summary>Cancellation, failures, response ordering and disposal of the scheduler with batching on.</summary>
public sealed class DynamicBatchLifecycleTests
{
    [Fact]
    public async Task A_cancelled_queued_request_is_removed_and_never_runs()
    {
        await using var h = new DynamicBatchHarness(4, new ModelDynamicBatching());
        var blocker = await h.BlockInstanceAsync(99, 4);
        using var cancellation = new CancellationTokenSource();
        var cancelled = h.Send(1, cancellationToken: cancellation.Token);
        var kept = h.Send(2);

        await cancellation.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal(1, h.Observer.Pending);

        h.Instance.Open();
        await blocker;
        DynamicBatchHarness.AssertAddedOne(await kept, 2);
        Assert.Equal([[99, 99, 99, 99], [2]], h.Instance.RowHeads.Select(r => r.Select(v => v / 100).ToArray()).ToArray());
        Assert.Equal([SchedulerFailure.Canceled], h.Observer.Failures);
    }

    [Fact]
    public async Task A_request_whose_token_fires_while_its_batch_runs_still_completes()
    {
        await using var h = new DynamicBatchHarness(4, new ModelDynamicBatching());
        using var cancellation = new CancellationTokenSource();
        h.Instance.Close();
        var running = h.Send(1, cancellationToken: cancellation.Token);
        await h.Instance.WaitForRunStartAsync();
        await cancellation.CancelAsync();
        h.Instance.Open();
        DynamicBatchHarness.AssertAddedOne(await running, 1);
    }

    [Fact]
    public async Task An_already_cancelled_token_is_refused_without_queueing()
    {
        await using var h = new DynamicBatchHarness(4, new ModelDynamicBatching());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => h.Send(1, cancellationToken: new CancellationToken(true)));
        Assert.Equal(0, h.Observer.Queued);
    }

    [Fact]
    public async Task A_backend_failure_fails_every_request_of_the_batch()
    {
        await using var h = new DynamicBatchHarness(3, new ModelDynamicBatching { MaxQueueDelayMicroseconds = 1_000_000 });
        h.Instance.FailNextRun(new BackendException("bad input", InferenceErrorKind.InvalidArgument));
        var tasks = new[] { h.Send(1), h.Send(2), h.Send(3) };

        foreach (var task in tasks)
        {
            var e = await Assert.ThrowsAsync<InferenceException>(() => task);
            Assert.Equal(InferenceErrorKind.InvalidArgument, e.Kind);
            Assert.Contains("bad input", e.Message);
        }
        Assert.Equal([3L], h.Instance.BatchSizes);
        Assert.Equal([SchedulerFailure.Backend, SchedulerFailure.Backend, SchedulerFailure.Backend], h.Observer.Failures);

        // The instance keeps serving after a failed batch.
        h.Instance.FailNextRun(new BackendException("runtime fault", code: "FAIL"));
        var internalFailure = await Assert.ThrowsAsync<InferenceException>(() => h.Send(4, rows: 3));
        Assert.Equal(InferenceErrorKind.Internal, internalFailure.Kind);
        DynamicBatchHarness.AssertAddedOne(await h.Send(5, rows: 3), 5, rows: 3);
    }

    [Fact]
    public async Task Preserve_ordering_holds_a_later_response_until_the_earlier_one_completes()
    {
        await using var h = new DynamicBatchHarness(1, new ModelDynamicBatching { PreserveOrdering = true }, instanceCount: 2);
        h.Instances[0].Close();
        h.Instances[1].Close();
        var started0 = h.Instances[0].WaitForRunStartAsync();
        var started1 = h.Instances[1].WaitForRunStartAsync();

        var first = h.Send(1);
        var firstStarted = await Task.WhenAny(started0, started1);
        var (slow, fast, fastStarted) = firstStarted == started0 ? (h.Instances[0], h.Instances[1], started1) : (h.Instances[1], h.Instances[0], started0);
        var second = h.Send(2);
        await fastStarted;

        fast.Open();
        await h.Observer.WaitForSuccessesAsync(1);
        Assert.False(second.IsCompleted);

        // Held above while the first ran; once it is released the two callers' continuations may run in either order.
        slow.Open();
        DynamicBatchHarness.AssertAddedOne(await second, 2);
        DynamicBatchHarness.AssertAddedOne(await first, 1);
    }

    [Fact]
    public async Task Without_preserve_ordering_a_later_response_can_overtake()
    {
        await using var h = new DynamicBatchHarness(1, new ModelDynamicBatching(), instanceCount: 2);
        h.Instances[0].Close();
        h.Instances[1].Close();
        var started0 = h.Instances[0].WaitForRunStartAsync();
        var started1 = h.Instances[1].WaitForRunStartAsync();

        var first = h.Send(1);
        var firstStarted = await Task.WhenAny(started0, started1);
        var (slow, fast, fastStarted) = firstStarted == started0 ? (h.Instances[0], h.Instances[1], started1) : (h.Instances[1], h.Instances[0], started0);
        var second = h.Send(2);
        await fastStarted;

        // A slow batch on one instance does not hold up the other instance.
        fast.Open();
        DynamicBatchHarness.AssertAddedOne(await second, 2);
        Assert.False(first.IsCompleted);
        slow.Open();
        DynamicBatchHarness.AssertAddedOne(await first, 1);
    }

    [Fact]
    public async Task Dispose_runs_what_is_queued_then_refuses_new_work_and_disposes_instances_once()
    {
        var h = new DynamicBatchHarness(8, new ModelDynamicBatching { MaxQueueDelayMicroseconds = 60_000_000 }, instanceCount: 2);
        var tasks = new[] { h.Send(1), h.Send(2), h.Send(3) };
        await h.Clock.WaitForArmedTimerAsync();
        Assert.DoesNotContain(tasks, t => t.IsCompleted);

        var disposing = h.Scheduler.DisposeAsync();
        for (var i = 0; i < tasks.Length; i++)
        {
            DynamicBatchHarness.AssertAddedOne(await tasks[i], i + 1);
        }
        await disposing;
        await h.Scheduler.DisposeAsync();

        Assert.Equal([3L], h.Instances.SelectMany(i => i.BatchSizes));
        Assert.All(h.Instances, i => Assert.Equal(1, i.DisposeCount));
        var e = await Assert.ThrowsAsync<InferenceException>(() => h.Send(4));
        Assert.Equal(InferenceErrorKind.Unavailable, e.Kind);
        Assert.Contains("unloading", e.Message);
        await h.DisposeAsync();
        Assert.All(h.Instances, i => Assert.Equal(1, i.DisposeCount));
    }

    [Fact]
    public async Task Dispose_waits_for_a_running_batch()
    {
        var h = new DynamicBatchHarness(4, new ModelDynamicBatching());
        var blocker = await h.BlockInstanceAsync(99, 4);
        var queued = h.Send(1);

        var disposing = h.Scheduler.DisposeAsync().AsTask();
        Assert.False(disposing.IsCompleted);
        Assert.Equal(0, h.Instance.DisposeCount);

        h.Instance.Open();
        await disposing;
        Assert.True(blocker.IsCompletedSuccessfully);
        DynamicBatchHarness.AssertAddedOne(await queued, 1);
        Assert.Equal(1, h.Instance.DisposeCount);
        await h.DisposeAsync();
    }

    [Fact]
    public async Task Sequential_requests_complete_through_recycled_completions()
    {
        await using var h = new DynamicBatchHarness(4, new ModelDynamicBatching());
        for (var i = 0; i < 50; i++)
        {
            var work = new SchedulerWork([Input(i)], DynamicBatchHarness.Outputs, 0, 0);
            var outputs = await h.Scheduler.ScheduleAsync(work, CancellationToken.None);
            DynamicBatchHarness.AssertAddedOne(outputs, i);
            work.Inputs[0].Dispose();
        }
        Assert.Equal(50, h.Observer.Succeeded);
        Assert.Equal(0, h.Observer.Pending);
    }

    private static Tensor Input(int id) => TestDoubles.AddOneInstance.Int32Tensor("INPUT0", [1, 2], id * 100, (id * 100) + 1);
}
