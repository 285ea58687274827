using InferenceServer.Core.Backends;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Scheduling;
using InferenceServer.Core.Tensors;

using InferenceServer.UnitTests.TestDoubles;
using static InferenceServer.UnitTests.Scheduling.AddingInstance;

namespace InferenceServer.UnitTests.Scheduling;

/// <summary>
/// The scheduler with batching off, Triton's default scheduler: one request per run, each instance on
/// its own thread taking the next request from one FIFO.
/// </summary>
public sealed class BatchingOffTests
{
    // Only a guard against a hung test run; no assertion depends on how long anything takes.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static ModelScheduler Create(params AddingInstance[] instances) => new("m", 0, null, instances);

    private static async Task<int[]> SumOf(Task<Tensor[]> task)
    {
        var outputs = await task.WaitAsync(Patience);
        using var output = Assert.Single(outputs);
        Assert.Equal("sum", output.Name);
        return AddOneInstance.ReadInt32(output);
    }

    private static async Task WaitForRuns(SemaphoreSlim entered, int count)
    {
        for (var i = 0; i < count; i++)
        {
            Assert.True(await entered.WaitAsync(Patience), $"only {i} of {count} runs started");
        }
    }

    [Fact]
    public async Task Each_caller_gets_the_result_of_its_own_request()
    {
        var instances = new[] { new AddingInstance(), new AddingInstance() };
        await using var scheduler = Create(instances);

        var tasks = Enumerable.Range(0, 64).Select(i => scheduler.ScheduleAsync(Work(i, 1000 * i), CancellationToken.None).AsTask()).ToArray();

        for (var i = 0; i < tasks.Length; i++)
        {
            Assert.Equal(new[] { 1001 * i, -999 * i }, await SumOf(tasks[i]));
        }
        Assert.Equal(64, instances.Sum(x => x.Runs));
    }

    [Fact]
    public async Task Every_instance_runs_a_request_at_the_same_time()
    {
        using var gate = new SemaphoreSlim(0);
        using var entered = new SemaphoreSlim(0);
        var instances = Enumerable.Range(0, 3).Select(_ => new AddingInstance(gate, entered)).ToArray();
        await using var scheduler = Create(instances);

        var first = Enumerable.Range(0, 3).Select(i => scheduler.ScheduleAsync(Work(i, 1), CancellationToken.None).AsTask()).ToArray();
        await WaitForRuns(entered, 3);

        // All three are inside Run at once, one per instance.
        Assert.All(instances, x => Assert.Equal(1, x.Runs));
        var fourth = scheduler.ScheduleAsync(Work(10, 1), CancellationToken.None).AsTask();
        Assert.False(fourth.IsCompleted);

        gate.Release(4);
        await WaitForRuns(entered, 1);
        Assert.Equal(new[] { 11, 9 }, await SumOf(fourth));
        for (var i = 0; i < first.Length; i++)
        {
            Assert.Equal(new[] { i + 1, i - 1 }, await SumOf(first[i]));
        }
    }

    [Fact]
    public async Task Runs_happen_on_the_instances_own_threads_never_on_the_thread_pool()
    {
        var instances = new[] { new AddingInstance(), new AddingInstance() };
        await using var scheduler = Create(instances);

        // Sequential and concurrent callers alike, all of them on thread-pool threads.
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(new[] { i, i }, await SumOf(Task.Run(() => scheduler.ScheduleAsync(Work(i, 0), CancellationToken.None).AsTask())));
        }
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() => SumOf(scheduler.ScheduleAsync(Work(i, 0), CancellationToken.None).AsTask()))));

        Assert.Equal(60, instances.Sum(x => x.Runs));
        Assert.All(instances, x => Assert.Equal(0, x.ThreadPoolRuns));
    }

    [Fact]
    public async Task A_lone_small_answer_continues_on_the_instance_thread_and_a_large_one_on_the_thread_pool()
    {
        using var gate = new SemaphoreSlim(0);
        using var entered = new SemaphoreSlim(0);
        var instance = new AddingInstance(gate, entered);
        await using var scheduler = Create(instance);

        // The continuation is registered while the run is held, so it runs wherever the scheduler completes it.
        async Task<bool> ContinuesOnThreadPool(int elements)
        {
            var values = Enumerable.Range(0, elements).ToArray();
            var task = scheduler.ScheduleAsync(new SchedulerWork([Int32s("a", values), Int32s("b", values)], ["sum"], 0, 0), CancellationToken.None).AsTask();
            await WaitForRuns(entered, 1);
            var probe = Observe(task);
            gate.Release();
            return await probe.WaitAsync(Patience);
        }

        static async Task<bool> Observe(Task<Tensor[]> task)
        {
            var outputs = await task.ConfigureAwait(false);
            var onThreadPool = Thread.CurrentThread.IsThreadPoolThread;
            outputs[0].Dispose();
            return onThreadPool;
        }

        Assert.False(await ContinuesOnThreadPool(16));
        // 128 KiB of outputs: encoding that answer is the thread pool's work, not the instance's.
        Assert.True(await ContinuesOnThreadPool(32 * 1024));
    }

    [Fact]
    public async Task An_instance_idle_for_longer_than_it_spins_is_woken_for_the_next_request()
    {
        var instance = new AddingInstance();
        await using var scheduler = Create(instance);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(new[] { i, i }, await SumOf(scheduler.ScheduleAsync(Work(i, 0), CancellationToken.None).AsTask()));
            // Past the spin: the instance's thread is asleep when the next request comes.
            await Task.Delay(TimeSpan.FromMicroseconds(20 * InstanceWorker.SpinMicroseconds));
        }
        Assert.Equal(3, instance.Runs);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task No_hand_off_is_lost_while_instances_go_to_sleep_and_are_woken(int instanceCount)
    {
        // Senders pause from nothing to several spins between requests, so hand-offs land while an instance spins,
        // while it is going to sleep, and while it sleeps; a lost wake would leave a request unanswered (Patience).
        var instances = new AddingInstance[instanceCount];
        for (var i = 0; i < instanceCount; i++)
        {
            instances[i] = new AddingInstance();
        }
        await using var scheduler = Create(instances);
        const int Senders = 4;
        const int PerSender = 60;

        var senders = new Task[Senders];
        for (var s = 0; s < Senders; s++)
        {
            var seed = s;
            senders[s] = Task.Run(async () =>
            {
                var random = new Random(seed);
                for (var i = 0; i < PerSender; i++)
                {
                    var value = seed * 1000 + i;
                    Assert.Equal(new[] { value, value }, await SumOf(scheduler.ScheduleAsync(Work(value, 0), CancellationToken.None).AsTask()));
                    var pause = random.Next(4);
                    if (pause > 0)
                    {
                        await Task.Delay(TimeSpan.FromMicroseconds(pause * 2 * InstanceWorker.SpinMicroseconds));
                    }
                }
            });
        }
        await Task.WhenAll(senders).WaitAsync(Patience);

        var runs = 0;
        foreach (var instance in instances)
        {
            runs += instance.Runs;
        }
        Assert.Equal(Senders * PerSender, runs);
    }

    [Fact]
    public async Task A_priority_is_ignored_as_the_model_has_no_priority_levels()
    {
        var instance = new AddingInstance();
        await using var scheduler = Create(instance);

        var work = new SchedulerWork([Int32s("a", 1, 2), Int32s("b", 3, 4)], ["sum"], 7, 1);
        Assert.Equal(new[] { 4, 6 }, await SumOf(scheduler.ScheduleAsync(work, CancellationToken.None).AsTask()));
    }

    [Fact]
    public async Task A_request_cancelled_while_queued_is_never_run()
    {
        using var gate = new SemaphoreSlim(0);
        using var entered = new SemaphoreSlim(0);
        var instance = new AddingInstance(gate, entered);
        await using var scheduler = Create(instance);

        var running = scheduler.ScheduleAsync(Work(1, 2), CancellationToken.None).AsTask();
        await WaitForRuns(entered, 1);
        using var cancellation = new CancellationTokenSource();
        var queued = scheduler.ScheduleAsync(Work(3, 4), cancellation.Token).AsTask();
        Assert.False(queued.IsCompleted);

        await cancellation.CancelAsync();
        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued.WaitAsync(Patience));
        Assert.True(queued.IsCanceled);
        Assert.Equal(cancellation.Token, error.CancellationToken);

        gate.Release(2);
        Assert.Equal(new[] { 3, -1 }, await SumOf(running));
        // One worker takes the queue in order: by the time the next request has run, the cancelled
        // one has been taken off the queue, and it must have been dropped rather than run.
        Assert.Equal(new[] { 5, 5 }, await SumOf(scheduler.ScheduleAsync(Work(5, 0), CancellationToken.None).AsTask()));
        Assert.Equal(2, instance.Runs);
    }

    [Fact]
    public async Task A_request_with_an_already_cancelled_token_is_cancelled_and_never_run()
    {
        var instance = new AddingInstance();
        await using var scheduler = Create(instance);

        var task = scheduler.ScheduleAsync(Work(1, 1), new CancellationToken(canceled: true)).AsTask();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task);
        Assert.True(task.IsCanceled);

        Assert.Equal(new[] { 2, 0 }, await SumOf(scheduler.ScheduleAsync(Work(1, 1), CancellationToken.None).AsTask()));
        Assert.Equal(1, instance.Runs);
    }

    [Fact]
    public async Task A_request_cancelled_while_running_still_completes_with_its_outputs()
    {
        using var gate = new SemaphoreSlim(0);
        using var entered = new SemaphoreSlim(0);
        var instance = new AddingInstance(gate, entered);
        await using var scheduler = Create(instance);
        using var cancellation = new CancellationTokenSource();

        var task = scheduler.ScheduleAsync(Work(1, 1), cancellation.Token).AsTask();
        await WaitForRuns(entered, 1);
        await cancellation.CancelAsync();

        // The run cannot be stopped and reads the caller's inputs until it ends, so the caller is not let go before.
        await Task.Delay(50);
        Assert.False(task.IsCompleted);
        gate.Release(2);
        Assert.Equal(new[] { 2, 0 }, await SumOf(task));
        Assert.Equal(new[] { 4, 0 }, await SumOf(scheduler.ScheduleAsync(Work(2, 2), CancellationToken.None).AsTask()));
    }

    [Theory]
    [InlineData(InferenceErrorKind.InvalidArgument, "INVALID_ARGUMENT")]
    [InlineData(InferenceErrorKind.InvalidArgument, null)]
    [InlineData(InferenceErrorKind.Internal, "FAIL")]
    [InlineData(InferenceErrorKind.Internal, "INVALID_ARGUMENT")]
    [InlineData(InferenceErrorKind.Internal, null)]
    public async Task A_backend_error_becomes_an_inference_error_of_its_kind_whatever_its_code(InferenceErrorKind kind, string? code)
    {
        var instance = new AddingInstance();
        await using var scheduler = Create(instance);
        var cause = new BackendException("shape [2] is not [3]", kind, code);
        instance.Failure = cause;

        var error = await Assert.ThrowsAsync<InferenceException>(() => scheduler.ScheduleAsync(Work(1, 1), CancellationToken.None).AsTask().WaitAsync(Patience));

        Assert.Equal(kind, error.Kind);
        Assert.Equal("model 'm' failed to run: shape [2] is not [3]", error.Message);
        Assert.Same(cause, error.InnerException);
    }

    [Fact]
    public async Task Any_other_exception_is_internal_and_the_worker_survives_it()
    {
        var instance = new AddingInstance { Failure = new InvalidOperationException("boom") };
        await using var scheduler = Create(instance);

        var error = await Assert.ThrowsAsync<InferenceException>(() => scheduler.ScheduleAsync(Work(1, 1), CancellationToken.None).AsTask().WaitAsync(Patience));
        Assert.Equal(InferenceErrorKind.Internal, error.Kind);
        Assert.Equal("model 'm' failed to run: boom", error.Message);
        Assert.IsType<InvalidOperationException>(error.InnerException);

        instance.Failure = null;
        Assert.Equal(new[] { 7, 3 }, await SumOf(scheduler.ScheduleAsync(Work(5, 2), CancellationToken.None).AsTask()));
    }

    [Fact]
    public async Task Dispose_lets_accepted_work_finish_then_refuses_new_work_then_disposes_instances_once()
    {
        using var gate = new SemaphoreSlim(0);
        using var entered = new SemaphoreSlim(0);
        var instances = new[] { new AddingInstance(gate, entered), new AddingInstance(gate, entered) };
        var scheduler = Create(instances);

        var running = new[] { scheduler.ScheduleAsync(Work(1, 1), CancellationToken.None).AsTask(), scheduler.ScheduleAsync(Work(2, 2), CancellationToken.None).AsTask() };
        await WaitForRuns(entered, 2);
        var queued = scheduler.ScheduleAsync(Work(3, 3), CancellationToken.None).AsTask();

        var disposal = scheduler.DisposeAsync().AsTask();
        var refused = await Assert.ThrowsAsync<InferenceException>(() => scheduler.ScheduleAsync(Work(9, 9), CancellationToken.None).AsTask());
        Assert.Equal(InferenceErrorKind.Unavailable, refused.Kind);
        Assert.Equal("model 'm' is unloading and takes no new requests", refused.Message);
        Assert.False(disposal.IsCompleted);
        Assert.All(instances, x => Assert.Equal(0, x.Disposals));

        gate.Release(3);
        Assert.Equal(new[] { 2, 0 }, await SumOf(running[0]));
        Assert.Equal(new[] { 4, 0 }, await SumOf(running[1]));
        Assert.Equal(new[] { 6, 0 }, await SumOf(queued));
        await disposal.WaitAsync(Patience);
        Assert.All(instances, x => Assert.Equal(1, x.Disposals));
        Assert.Equal(3, instances.Sum(x => x.Runs));

        await scheduler.DisposeAsync();
        Assert.All(instances, x => Assert.Equal(1, x.Disposals));
        Assert.Equal(InferenceErrorKind.Unavailable, (await Assert.ThrowsAsync<InferenceException>(() => scheduler.ScheduleAsync(Work(1, 1), CancellationToken.None).AsTask())).Kind);
    }

    [Fact]
    public async Task Dispose_of_an_idle_scheduler_disposes_every_instance()
    {
        var instances = Enumerable.Range(0, 4).Select(_ => new AddingInstance()).ToArray();
        await Create(instances).DisposeAsync();
        Assert.All(instances, x => Assert.Equal(1, x.Disposals));
        Assert.All(instances, x => Assert.Equal(0, x.Runs));
    }

    [Fact]
    public void A_pool_needs_an_instance()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Create());
    }
}
