using InferenceServer.Core.Backends;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Scheduling;
using InferenceServer.Core.Tensors;

using InferenceServer.UnitTests.TestDoubles;
using static InferenceServer.UnitTests.Scheduling.AddingInstance;

namespace InferenceServer.UnitTests.Scheduling;

/// <summary>
/// Run-on-caller, the server's setting: a request that finds a quick instance idle, its thread asleep, with nobody
/// waiting runs on the caller's thread, at most one caller per instance; everything else goes through the instance's own
/// thread as before. A test that expects a caller to run a request first waits for the instance's thread to sleep.
/// </summary>
public sealed class RunOnCallerTests
{
    // Only a guard against a hung test run; no assertion depends on how long anything takes.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    // TimeSpan.MaxValue: even an instance that has not run yet counts as quick, so which thread runs is certain.
    private static ModelScheduler Create(TimeSpan within, params AddingInstance[] instances) =>
        new("m", 0, null, instances, runOnCallerWithin: within);

    // The spin is Stopwatch time (100 µs), not a fake clock's, so this waits for the threads themselves; from a
    // thread-pool thread, as the test may be continuing on an instance's thread (an inline answer), which could then
    // never get back to its spin and sleep.
    private static async Task UntilAsleep(ModelScheduler scheduler) =>
        Assert.True(await Task.Run(() => SpinWait.SpinUntil(() => scheduler.AllAsleep, Patience)), "the instances' threads never went to sleep");

    // From a thread of its own: the test may be continuing on an instance's thread (an inline answer), which runs nothing
    // as a caller. For a request that is not expected to block its caller.
    private static Task<(int Caller, Task<Tensor[]> Answer)> SendFromOwnThread(ModelScheduler scheduler, int value) =>
        Task.Factory.StartNew(
            () => (Environment.CurrentManagedThreadId, scheduler.ScheduleAsync(Work(value, 0), CancellationToken.None).AsTask()),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static async Task<int[]> SumOf(Task<Tensor[]> task)
    {
        var outputs = await task.WaitAsync(Patience);
        using var output = Assert.Single(outputs);
        return AddOneInstance.ReadInt32(output);
    }

    private static int[] Firsts(AddingInstance instance)
    {
        var firsts = new List<int>();
        foreach (var (first, _) in instance.Started)
        {
            firsts.Add(first);
        }
        return [.. firsts];
    }

    private static int ThreadOf(AddingInstance instance, int first) => ThreadOf([instance], first);

    private static int ThreadOf(AddingInstance[] instances, int first)
    {
        foreach (var instance in instances)
        {
            foreach (var run in instance.Started)
            {
                if (run.First == first)
                {
                    return run.Thread;
                }
            }
        }
        throw new InvalidOperationException($"no run began with {first}");
    }

    [Fact]
    public async Task A_request_that_finds_the_instance_idle_runs_on_the_callers_thread_and_returns_complete()
    {
        var instance = new AddingInstance();
        await using var scheduler = Create(TimeSpan.MaxValue, instance);
        await UntilAsleep(scheduler);

        for (var i = 1; i <= 3; i++)
        {
            var answer = scheduler.ScheduleAsync(Work(i, 0), CancellationToken.None);

            Assert.True(answer.IsCompletedSuccessfully);
            Assert.Equal(Environment.CurrentManagedThreadId, ThreadOf(instance, i));
            Assert.Equal(new[] { i, i }, await SumOf(answer.AsTask()));
            // Nothing woke the instance's thread: the next request is lent again without another wait.
            Assert.True(scheduler.AllAsleep);
        }
    }

    [Fact]
    public async Task An_instance_that_has_not_run_yet_runs_on_its_own_thread_and_one_seen_quick_on_the_caller()
    {
        var instance = new AddingInstance();
        await using var scheduler = Create(TimeSpan.FromHours(1), instance);

        await UntilAsleep(scheduler);
        var firstCaller = Environment.CurrentManagedThreadId;
        Assert.Equal(new[] { 1, 1 }, await SumOf(scheduler.ScheduleAsync(Work(1, 0), CancellationToken.None).AsTask()));
        Assert.NotEqual(firstCaller, ThreadOf(instance, 1));
        await UntilAsleep(scheduler);
        // From a thread of its own: the test may continue on the instance's thread (an inline answer), which runs nothing as a caller.
        var caller = 0;
        var second = await Task.Factory.StartNew(
            () =>
            {
                caller = Environment.CurrentManagedThreadId;
                return scheduler.ScheduleAsync(Work(2, 0), CancellationToken.None);
            },
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        Assert.True(second.IsCompletedSuccessfully);
        Assert.Equal(new[] { 2, 2 }, await SumOf(second.AsTask()));
        Assert.Equal(caller, ThreadOf(instance, 2));
    }

    [Fact]
    public async Task An_instance_whose_last_run_took_longer_than_the_bound_runs_on_its_own_thread()
    {
        using var gate = new SemaphoreSlim(0);
        using var entered = new SemaphoreSlim(0);
        var instance = new AddingInstance(gate, entered);
        // One tick: no run held at a gate until the test releases it is that quick.
        await using var scheduler = Create(TimeSpan.FromTicks(1), instance);

        for (var i = 1; i <= 2; i++)
        {
            // Asleep, so that only the bound keeps the request off its caller.
            await UntilAsleep(scheduler);
            // From a thread of its own: the test's continuation may be running on the instance's thread (an inline answer).
            var caller = 0;
            var value = i;
            var answer = Task.Factory.StartNew(
                () =>
                {
                    caller = Environment.CurrentManagedThreadId;
                    return scheduler.ScheduleAsync(Work(value, 0), CancellationToken.None).AsTask();
                },
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
            Assert.True(await entered.WaitAsync(Patience));
            Assert.False(answer.IsCompleted);
            gate.Release();
            Assert.Equal(new[] { i, i }, await SumOf(answer));
            Assert.NotEqual(caller, ThreadOf(instance, i));
        }
    }

    [Fact]
    public async Task Requests_that_come_while_a_caller_runs_wait_and_then_run_in_order_on_the_instances_thread()
    {
        using var gate = new SemaphoreSlim(0);
        using var entered = new SemaphoreSlim(0);
        var instance = new AddingInstance(gate, entered);
        await using var scheduler = Create(TimeSpan.MaxValue, instance);
        await UntilAsleep(scheduler);

        var callerThread = 0;
        var lent = Task.Factory.StartNew(() =>
        {
            callerThread = Environment.CurrentManagedThreadId;
            return scheduler.ScheduleAsync(Work(1, 0), CancellationToken.None).AsTask();
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        Assert.True(await entered.WaitAsync(Patience));

        // The instance is lent: these queue instead of running on their callers (the test's thread would block here).
        var sender = Environment.CurrentManagedThreadId;
        var queued = new[] { 2, 3, 4 }.Select(i => scheduler.ScheduleAsync(Work(i, 0), CancellationToken.None).AsTask()).ToArray();
        Assert.All(queued, task => Assert.False(task.IsCompleted));
        Assert.Equal(1, instance.Runs);

        gate.Release(4);
        Assert.Equal(new[] { 1, 1 }, await SumOf(lent));
        for (var i = 0; i < queued.Length; i++)
        {
            Assert.Equal(new[] { i + 2, i + 2 }, await SumOf(queued[i]));
        }
        Assert.Equal(new[] { 1, 2, 3, 4 }, Firsts(instance));
        Assert.Equal(callerThread, ThreadOf(instance, 1));
        var own = ThreadOf(instance, 2);
        Assert.NotEqual(callerThread, own);
        Assert.NotEqual(sender, own);
        Assert.Equal(own, ThreadOf(instance, 3));
        Assert.Equal(own, ThreadOf(instance, 4));
    }

    [Fact]
    public async Task With_two_instances_two_callers_run_at_once_and_a_third_waits()
    {
        using var gate = new SemaphoreSlim(0);
        using var entered = new SemaphoreSlim(0);
        var instances = new[] { new AddingInstance(gate, entered), new AddingInstance(gate, entered) };
        await using var scheduler = Create(TimeSpan.MaxValue, instances);
        await UntilAsleep(scheduler);

        var callers = new Task<Tensor[]>[2];
        var callerThreads = new int[2];
        for (var i = 0; i < callers.Length; i++)
        {
            var at = i;
            callers[i] = Task.Factory.StartNew(
                () =>
                {
                    callerThreads[at] = Environment.CurrentManagedThreadId;
                    return scheduler.ScheduleAsync(Work(at + 1, 0), CancellationToken.None).AsTask();
                },
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        }
        Assert.True(await entered.WaitAsync(Patience));
        Assert.True(await entered.WaitAsync(Patience));

        var sender = Environment.CurrentManagedThreadId;
        var third = scheduler.ScheduleAsync(Work(3, 0), CancellationToken.None).AsTask();
        Assert.False(third.IsCompleted);
        Assert.Equal(2, instances.Sum(x => x.Runs));

        gate.Release(3);
        Assert.Equal(new[] { 1, 1 }, await SumOf(callers[0]));
        Assert.Equal(new[] { 2, 2 }, await SumOf(callers[1]));
        Assert.Equal(new[] { 3, 3 }, await SumOf(third));
        Assert.Equal(callerThreads[0], ThreadOf(instances, 1));
        Assert.Equal(callerThreads[1], ThreadOf(instances, 2));
        Assert.DoesNotContain(ThreadOf(instances, 3), (int[])[.. callerThreads, sender]);
    }

    [Fact]
    public async Task A_request_cancelled_while_it_waits_behind_a_caller_is_never_run_and_the_callers_own_run_is_not_stopped()
    {
        using var gate = new SemaphoreSlim(0);
        using var entered = new SemaphoreSlim(0);
        var instance = new AddingInstance(gate, entered);
        await using var scheduler = Create(TimeSpan.MaxValue, instance);
        using var callerCancellation = new CancellationTokenSource();
        using var waiterCancellation = new CancellationTokenSource();
        await UntilAsleep(scheduler);

        var lent = Task.Factory.StartNew(
            () => scheduler.ScheduleAsync(Work(1, 0), callerCancellation.Token).AsTask(),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        Assert.True(await entered.WaitAsync(Patience));
        var waiting = scheduler.ScheduleAsync(Work(2, 0), waiterCancellation.Token).AsTask();

        await waiterCancellation.CancelAsync();
        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Patience));
        Assert.Equal(waiterCancellation.Token, error.CancellationToken);
        // The run reads the caller's inputs until it ends: a cancelled caller still gets its outputs.
        await callerCancellation.CancelAsync();
        Assert.False(lent.IsCompleted);

        gate.Release(2);
        Assert.Equal(new[] { 1, 1 }, await SumOf(lent));
        Assert.Equal(new[] { 5, 5 }, await SumOf(scheduler.ScheduleAsync(Work(5, 0), CancellationToken.None).AsTask()));
        Assert.Equal(new[] { 1, 5 }, Firsts(instance));
    }

    [Theory]
    [InlineData(InferenceErrorKind.InvalidArgument)]
    [InlineData(InferenceErrorKind.Internal)]
    public async Task A_failed_run_on_the_caller_is_an_inference_error_of_its_kind_and_the_instance_stays(InferenceErrorKind kind)
    {
        var instance = new AddingInstance();
        await using var scheduler = Create(TimeSpan.MaxValue, instance);
        var cause = new BackendException("shape [2] is not [3]", kind, null);
        instance.Failure = cause;
        await UntilAsleep(scheduler);

        var caller = Environment.CurrentManagedThreadId;
        var answer = scheduler.ScheduleAsync(Work(1, 1), CancellationToken.None);
        Assert.True(answer.IsFaulted);
        var error = await Assert.ThrowsAsync<InferenceException>(() => answer.AsTask());

        Assert.Equal(kind, error.Kind);
        Assert.Equal("model 'm' failed to run: shape [2] is not [3]", error.Message);
        Assert.Same(cause, error.InnerException);
        Assert.Equal(caller, ThreadOf(instance, 1));

        instance.Failure = null;
        Assert.Equal(new[] { 7, 3 }, await SumOf(scheduler.ScheduleAsync(Work(5, 2), CancellationToken.None).AsTask()));
        Assert.Equal(caller, ThreadOf(instance, 5));
    }

    [Fact]
    public async Task An_instance_removed_while_a_caller_runs_it_leaves_once_the_run_ends()
    {
        using var gate = new SemaphoreSlim(0);
        using var entered = new SemaphoreSlim(0);
        var first = new AddingInstance(gate, entered);
        var second = new AddingInstance();
        await using var scheduler = Create(TimeSpan.MaxValue, first);
        await UntilAsleep(scheduler);

        var lent = Task.Factory.StartNew(
            () => scheduler.ScheduleAsync(Work(1, 0), CancellationToken.None).AsTask(),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        Assert.True(await entered.WaitAsync(Patience));
        Assert.True(scheduler.TryAddInstance(second));
        var removal = scheduler.RemoveInstanceAsync(first).AsTask();
        Assert.False(removal.IsCompleted);

        gate.Release();
        Assert.Equal(new[] { 1, 1 }, await SumOf(lent));
        Assert.True(await removal.WaitAsync(Patience));
        Assert.Equal(new[] { 2, 2 }, await SumOf(scheduler.ScheduleAsync(Work(2, 0), CancellationToken.None).AsTask()));
        Assert.Equal(1, first.Runs);
        Assert.Equal(1, second.Runs);
    }

    [Fact]
    public async Task A_request_sent_from_an_instances_thread_is_handed_over_not_run_there()
    {
        using var gate = new SemaphoreSlim(0);
        using var entered = new SemaphoreSlim(0);
        var sending = new AddingInstance(gate, entered);
        var receiving = new AddingInstance();
        // An instance that has not run yet is not lent: the first request runs on the sending instance's thread.
        await using var senders = Create(TimeSpan.FromHours(1), sending);
        await using var receivers = Create(TimeSpan.MaxValue, receiving);
        await UntilAsleep(receivers);

        // A continuation that a scheduler runs inline on an instance's thread sends a request to another model, whose
        // instance sleeps: running it there would hold the sending thread while its own instance counts as idle, and
        // batches handed to it would wait. (For its own instance the thread still spins then, which alone rules it out.)
        var next = new TaskCompletionSource<(int Thread, Task<Tensor[]> Answer)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = senders.ScheduleAsync(Work(1, 0), CancellationToken.None);
        Assert.True(await entered.WaitAsync(Patience));
        // Registered while the run is held, so it runs where the scheduler completes it: inline, on the instance's thread.
        first.GetAwaiter().OnCompleted(() =>
        {
            var answer = receivers.ScheduleAsync(Work(2, 0), CancellationToken.None);
            next.SetResult((Environment.CurrentManagedThreadId, answer.AsTask()));
        });
        gate.Release();
        var (thread, second) = await next.Task.WaitAsync(Patience);

        Assert.Equal(ThreadOf(sending, 1), thread);
        Assert.Equal(new[] { 2, 2 }, await SumOf(second));
        Assert.NotEqual(thread, ThreadOf(receiving, 2));
        Assert.Equal(new[] { 1, 1 }, await SumOf(first.AsTask()));
    }

    [Fact]
    public async Task An_instance_whose_thread_still_spins_is_not_lent_and_runs_on_its_own_thread()
    {
        var instance = new AddingInstance();
        // Its thread spins for as long as the test runs, and is never asleep; the bound would lend it otherwise.
        await using var scheduler = new ModelScheduler("m", 0, null, [instance], runOnCallerWithin: TimeSpan.MaxValue, instanceSpin: TimeSpan.FromHours(1));

        for (var i = 1; i <= 3; i++)
        {
            var (caller, answer) = await SendFromOwnThread(scheduler, i);

            Assert.Equal(new[] { i, i }, await SumOf(answer));
            Assert.NotEqual(caller, ThreadOf(instance, i));
            Assert.False(scheduler.AllAsleep);
        }
        Assert.Equal(ThreadOf(instance, 1), ThreadOf(instance, 2));
        Assert.Equal(ThreadOf(instance, 1), ThreadOf(instance, 3));
    }

    [Fact]
    public async Task An_instance_asleep_for_less_than_the_servers_idle_bound_is_not_lent()
    {
        var instance = new AddingInstance();
        // Asleep, but never for an hour: every request goes to the instance's own thread.
        await using var scheduler = new ModelScheduler("m", 0, null, [instance], runOnCallerWithin: TimeSpan.MaxValue, lendAfterAsleep: TimeSpan.FromHours(1));

        for (var i = 1; i <= 3; i++)
        {
            await UntilAsleep(scheduler);
            var (caller, answer) = await SendFromOwnThread(scheduler, i);

            Assert.Equal(new[] { i, i }, await SumOf(answer));
            Assert.NotEqual(caller, ThreadOf(instance, i));
        }
    }

    [Fact]
    public async Task An_instance_asleep_past_the_idle_bound_is_lent_and_stays_lent_while_its_thread_sleeps_on()
    {
        var instance = new AddingInstance();
        var bound = TimeSpan.FromMilliseconds(5);
        await using var scheduler = new ModelScheduler("m", 0, null, [instance], runOnCallerWithin: TimeSpan.MaxValue, lendAfterAsleep: bound);
        await UntilAsleep(scheduler);
        // Stopwatch time, as the bound is: asleep for longer than it.
        await Task.Delay(bound * 4);

        for (var i = 1; i <= 3; i++)
        {
            var answer = scheduler.ScheduleAsync(Work(i, 0), CancellationToken.None);

            // Each request ran here, and none woke the thread, which has now slept longer still: the next is lent too.
            Assert.True(answer.IsCompletedSuccessfully);
            Assert.Equal(Environment.CurrentManagedThreadId, ThreadOf(instance, i));
            Assert.Equal(new[] { i, i }, await SumOf(answer.AsTask()));
        }
    }

    [Fact]
    public async Task Dispose_waits_for_a_run_on_a_caller()
    {
        using var gate = new SemaphoreSlim(0);
        using var entered = new SemaphoreSlim(0);
        var instance = new AddingInstance(gate, entered);
        var scheduler = Create(TimeSpan.MaxValue, instance);
        await UntilAsleep(scheduler);

        var lent = Task.Factory.StartNew(
            () => scheduler.ScheduleAsync(Work(1, 0), CancellationToken.None).AsTask(),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        Assert.True(await entered.WaitAsync(Patience));
        var disposal = scheduler.DisposeAsync().AsTask();
        Assert.False(disposal.IsCompleted);
        Assert.Equal(0, instance.Disposals);

        gate.Release();
        Assert.Equal(new[] { 1, 1 }, await SumOf(lent));
        await disposal.WaitAsync(Patience);
        Assert.Equal(1, instance.Disposals);
    }
}
