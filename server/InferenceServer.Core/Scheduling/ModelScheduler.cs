using System.Diagnostics;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Tensors;
using Microsoft.Extensions.ObjectPool;

namespace InferenceServer.Core.Scheduling;

/// <summary>
/// The one scheduler engine, Triton's dynamic batcher; a model without dynamic batching gets the same
/// engine with batching off, which is Triton's default scheduler. Three parts: the
/// <see cref="RequestQueue"/> (priority levels and their queue policy), the <see cref="BatchFormer"/>
/// (what runs next, and when) and the <see cref="InstancePool"/> (each instance runs on its own thread).
/// </summary>
/// <remarks>
/// There is no dispatcher thread. Whoever changes what can run dispatches, under the one lock: a caller
/// that queues a request hands it to an idle instance at once, an instance that finishes a batch takes
/// the next one itself (under load no thread is woken at all), and the queue-delay timer and a cancelled
/// request do the rest. Backends run on the instances' threads; with run-on-caller on (the server's choice), a request
/// that finds a quick instance idle, its thread asleep and nobody waiting runs on its caller's thread instead, at most
/// one caller per instance (see <see cref="ScheduleAsync"/>).
/// <para>
/// With the server's <see cref="RateLimiter"/> on, an instance whose group asks for resources must hold them to run a
/// batch. One that has work but cannot get them is staged: out of the idle ones and in the limiter's line, with its
/// requests still queued (they can still join a batch, time out or be cancelled). When it is granted, the limiter's
/// caller tells it (<see cref="OnGranted"/>) and it forms its batch then; when the work it waited for is gone first,
/// it leaves the line. Nothing blocks a thread while it waits. With the limiter off none of this runs: no instance
/// has a lease, and the dispatch pass reads two more fields.
/// </para>
/// </remarks>
internal sealed class ModelScheduler : IScheduler, IResourceWaiter
{
    // A pool larger than this would only keep memory from a past burst alive.
    private const int MaxPooledRequests = 1024;

    // Outputs up to this size are answered on the instance's thread when it has nothing else to do (see Execute).
    private const int InlineOutputBytes = 64 * 1024;

    /// <summary>
    /// The server's bound for run-on-caller: a caller runs a request on its own thread only on an instance whose last
    /// batch took at most this long, which bounds how long one thread-pool thread per instance is held in a native run
    /// (see <see cref="ScheduleAsync"/>).
    /// </summary>
    public static readonly TimeSpan CallerRunLimit = TimeSpan.FromMilliseconds(1);

    /// <summary>
    /// The server's other condition for run-on-caller: the instance's thread has been asleep at least this long, so the
    /// model has had nothing to do for a while and not merely outwaited the thread's spin. A lone client in a loop keeps
    /// the thread asleep (its requests run on their callers, nothing wakes it) and keeps being lent; under steady
    /// concurrent load the thread sleeps only in short gaps, so the instance stays with its own thread, which the
    /// load keeps spinning (lending after any sleep cost REST binary at concurrency 32 0.89x in a quiet paired run).
    /// </summary>
    public static readonly TimeSpan CallerIdleLimit = TimeSpan.FromMilliseconds(1);

    /// <summary>
    /// When a client whose request was shed (a full queue, a queue timeout) should try again: HTTP's Retry-After counts
    /// whole seconds, and one is the shortest it can say. By then a queue sized in executions has turned over many times.
    /// </summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    private readonly Lock _lock = new();
    private readonly string _modelName;
    private readonly bool _batchDimension;
    private readonly RequestQueue _queue;
    private readonly BatchFormer _former;
    private readonly InstancePool _pool;
    private readonly ResponseOrder? _order;
    private readonly ObjectPool<QueuedRequest> _requests;
    private readonly TimeProvider _time;
    private readonly ISchedulerObserver _observer;
    private readonly QueueDefaults _queueDefaults;
    private readonly RateLimiter? _limiter;
    private readonly bool _runOnCaller;
    // In Stopwatch ticks: it bounds how long a caller's thread is held, which a test's fake clock must not stretch.
    private readonly long _callerRunTicks;
    // In Stopwatch ticks too: how long an instance's thread must have slept before it is lent.
    private readonly long _lendAfterAsleepTicks;
    private readonly ITimer _timer;
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly long _shedAfterTicks;
    private readonly SpareCapacityMeter _spare;

    // Guarded by _lock.
    private long _timerDue = long.MaxValue;
    private bool _closing;
    // Leases the rate limiter granted to others (or to this model's staged instances) during calls made under the lock,
    // whose owners are told once it is released (Finish).
    private ResourceLease? _granted;

    private int _disposeStarted;

    /// <summary>
    /// Starts one thread per instance; the scheduler owns the instances from now on.
    /// <paramref name="maxBatchSize"/> is the model's max_batch_size (0: the model does not batch, and a
    /// request counts as one in the batch statistics). <paramref name="batching"/> is its dynamic_batching,
    /// or null for none: batching is on only for a model that batches and has it. Durations are measured with
    /// <paramref name="timeProvider"/> (default <see cref="TimeProvider.System"/>) and reported to
    /// <paramref name="observer"/> (default <see cref="NullSchedulerObserver.Instance"/>). What the queue policies
    /// leave unset comes from <paramref name="queueDefaults"/> (default <see cref="QueueDefaults.Unbounded"/>).
    /// With <paramref name="limiter"/> (the server's, when <c>--rate-limit</c> is on), <paramref name="leases"/> are the
    /// instances' places in it (registered by the caller, null for an instance that asks for nothing), which the
    /// scheduler owns from now on. With <paramref name="runOnCallerWithin"/> above zero (the server gives
    /// <see cref="CallerRunLimit"/>), a request that finds idle an instance whose last batch ran within it and whose thread
    /// is asleep, with nobody waiting, runs on its caller's thread (see <see cref="ScheduleAsync"/>); at zero every batch
    /// runs on an instance's thread. An instance that has not run yet counts as slow, except with
    /// <see cref="TimeSpan.MaxValue"/>.
    /// With <paramref name="lendAfterAsleep"/> (the server gives <see cref="CallerIdleLimit"/>; default zero), the thread
    /// must also have been asleep at least that long.
    /// <paramref name="instanceSpin"/> is how long an idle instance's thread spins before it blocks (default
    /// <see cref="InstanceWorker.SpinMicroseconds"/>); tests lengthen it to hold a thread spinning.
    /// </summary>
    public ModelScheduler(
        string modelName,
        int maxBatchSize,
        ModelDynamicBatching? batching,
        IReadOnlyList<IModelInstance> instances,
        TimeProvider? timeProvider = null,
        ISchedulerObserver? observer = null,
        QueueDefaults? queueDefaults = null,
        RateLimiter? limiter = null,
        IReadOnlyList<ResourceLease?>? leases = null,
        TimeSpan runOnCallerWithin = default,
        TimeSpan? instanceSpin = null,
        TimeSpan lendAfterAsleep = default)
    {
        ArgumentOutOfRangeException.ThrowIfZero(instances.Count);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBatchSize);
        _modelName = modelName;
        _batchDimension = maxBatchSize > 0;
        _time = timeProvider ?? TimeProvider.System;
        _observer = observer ?? NullSchedulerObserver.Instance;
        _queueDefaults = queueDefaults ?? QueueDefaults.Unbounded;
        _limiter = limiter;
        ArgumentOutOfRangeException.ThrowIfLessThan(runOnCallerWithin, TimeSpan.Zero);
        _runOnCaller = runOnCallerWithin > TimeSpan.Zero;
        _callerRunTicks = runOnCallerWithin == TimeSpan.MaxValue ? long.MaxValue : StopwatchTicks(runOnCallerWithin);
        ArgumentOutOfRangeException.ThrowIfLessThan(lendAfterAsleep, TimeSpan.Zero);
        _lendAfterAsleepTicks = StopwatchTicks(lendAfterAsleep);
        if (leases is not null && leases.Count != instances.Count)
        {
            throw new ArgumentException("one lease (or null) per instance is expected", nameof(leases));
        }
        _shedAfterTicks = Timestamps.FromMicroseconds((long)QueueDefaults.ShedAfter.TotalMicroseconds, _time.TimestampFrequency);
        _spare = new SpareCapacityMeter(_time.TimestampFrequency);
        // A model that does not batch keeps Triton's default scheduler, one request at a time; its queue still takes the
        // policies of a dynamic_batching it gives (a queue bound and timeout mean the same whether or not requests join).
        var queueing = maxBatchSize > 0 ? batching : null;
        _queue = new RequestQueue(batching, _time.TimestampFrequency, _queueDefaults);
        _former = new BatchFormer(maxBatchSize, queueing, _time.TimestampFrequency);
        _pool = new InstancePool(_former.Capacity, instanceSpin is { } spin ? StopwatchTicks(spin) : null);
        _order = queueing is { PreserveOrdering: true } ? new ResponseOrder() : null;
        _requests = new DefaultObjectPool<QueuedRequest>(new QueuedRequestPolicy(this), MaxPooledRequests);

        // Timers and worker threads must not capture whichever request's context created the model.
        using (ExecutionContext.SuppressFlow())
        {
            _timer = _time.CreateTimer(static state => ((ModelScheduler)state!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
        var workers = new InstanceWorker[instances.Count];
        lock (_lock)
        {
            for (var i = 0; i < workers.Length; i++)
            {
                workers[i] = _pool.Add(instances[i], Own(leases?[i]));
                if (workers[i].Lease is { } lease)
                {
                    lease.Tag = workers[i];
                }
            }
            ResizeQueueLocked();
        }
        foreach (var worker in workers)
        {
            StartWorker(worker);
        }
    }

    private void StartWorker(InstanceWorker worker) =>
        worker.Start($"{(_former.Batching ? "batcher" : "instance")} {_modelName} #{worker.Index}", RunWorker);

    // A lease is told of grants through this scheduler, and names its worker once that exists.
    private ResourceLease? Own(ResourceLease? lease)
    {
        if (lease is not null)
        {
            if (_limiter is null)
            {
                throw new ArgumentException("a lease needs the rate limiter it was registered with", nameof(lease));
            }
            lease.Owner = this;
        }
        return lease;
    }

    /// <inheritdoc />
    public bool TryAddInstance(IModelInstance instance) => TryAddInstance(instance, default);

    /// <summary>
    /// As <see cref="TryAddInstance(IModelInstance)"/>, for an instance of the group <paramref name="demand"/> describes:
    /// with the rate limiter on, the instance takes its place in it (false, and nothing changes, when it cannot).
    /// </summary>
    public bool TryAddInstance(IModelInstance instance, InstanceDemand demand)
    {
        ResourceLease? lease = null;
        if (_limiter is not null && demand.AsksForResources)
        {
            lease = _limiter.TryRegister(_modelName, [demand], out _)?[0];
            if (lease is null)
            {
                return false;
            }
        }
        InstanceWorker worker;
        Dispatch dispatch;
        lock (_lock)
        {
            if (_closing)
            {
                if (lease is not null)
                {
                    _limiter!.Unregister(lease, ref _granted);
                }
                dispatch = new Dispatch(null, null, false, TakeGrantedLocked());
                worker = null!;
            }
            else
            {
                worker = _pool.Add(instance, Own(lease));
                if (worker.Lease is { } added)
                {
                    added.Tag = worker;
                }
                ResizeQueueLocked();
                dispatch = DispatchLocked();
            }
        }
        if (worker is null)
        {
            Finish(dispatch);
            return false;
        }
        // A batch handed to it before its thread runs is waiting for it when it does.
        StartWorker(worker);
        Finish(dispatch);
        return true;
    }

    /// <inheritdoc />
    public async ValueTask<bool> RemoveInstanceAsync(IModelInstance instance)
    {
        InstanceWorker worker;
        bool idle;
        lock (_lock)
        {
            if (!_pool.TryRemove(instance, out worker, out idle))
            {
                return false;
            }
            ResizeQueueLocked();
        }
        if (idle)
        {
            worker.Stop();
        }
        // A busy one finishes its batch, answering its callers, and leaves instead of going idle.
        await worker.Exited.ConfigureAwait(false);
        Unregister([worker]);
        return true;
    }

    /// <summary>Gives back the rate-limiter places of instances that have left, waking whoever waited behind them.</summary>
    private void Unregister(InstanceWorker[] workers)
    {
        if (_limiter is null)
        {
            return;
        }
        Dispatch dispatch;
        lock (_lock)
        {
            foreach (var worker in workers)
            {
                if (worker.Lease is { } lease)
                {
                    worker.HoldsResources = false;
                    _limiter.Unregister(lease, ref _granted);
                }
            }
            dispatch = new Dispatch(null, null, false, TakeGrantedLocked());
        }
        Finish(dispatch);
    }

    private ResourceLease? TakeGrantedLocked()
    {
        var granted = _granted;
        _granted = null;
        return granted;
    }

    /// <inheritdoc />
    void IResourceWaiter.OnGranted(ResourceLease lease) => OnGranted(lease);

    /// <summary>A staged instance holds its resources now: it takes the batch it waited for, or gives them back when that is gone.</summary>
    internal void OnGranted(ResourceLease lease)
    {
        var worker = (InstanceWorker)lease.Tag!;
        Dispatch dispatch;
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            _observer.ResourcesWaited(TicksToTimeSpan(now - worker.StagedAt));
            worker.HoldsResources = true;
            if (!_pool.Unstage(worker))
            {
                // Removed while it waited: it leaves without running.
                worker.HoldsResources = false;
                _limiter!.Release(lease, requeue: false, ref _granted);
                worker.Stop();
            }
            // The granted instance is the first idle one: the pass hands it the next batch, or releases what it holds.
            dispatch = DispatchLocked(now);
        }
        Finish(dispatch);
    }

    private static long StopwatchTicks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    /// <summary>Every instance is idle and its thread asleep, so the next request may run on its caller (for tests).</summary>
    internal bool AllAsleep
    {
        get
        {
            lock (_lock)
            {
                return _pool.AllAsleep;
            }
        }
    }

    // The default bound while shedding is counted in batches per instance, so it follows the instance count.
    private void ResizeQueueLocked() => _queue.SetSheddingQueueSize(_queueDefaults.MaxQueueSize(_pool.Count, _former.Capacity));

    /// <inheritdoc />
    /// <remarks>
    /// With run-on-caller on, a request that is handed an idle instance while nothing else waits, on an instance whose
    /// thread is asleep (past its spin; in the server, for at least <see cref="CallerIdleLimit"/>) and whose last batch
    /// ran within the scheduler's bound (<see cref="CallerRunLimit"/> in the server), runs on this thread and returns
    /// complete: no hand-off to the instance's thread and no hop back to the thread pool for the answer. That
    /// blocks the caller (a thread-pool thread, for the server's protocols) inside the native run, but at most one caller
    /// per instance at a time, as the instance is out of the idle ones until the run ends, and only for about as long as
    /// the instance's last batch took. Requests that arrive meanwhile queue as for any busy instance; the caller hands
    /// them to the instance's own thread when it is done.
    /// </remarks>
    public ValueTask<Tensor[]> ScheduleAsync(SchedulerWork work, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            _observer.RequestFailed(SchedulerFailure.Canceled, TimeSpan.Zero);
            return ValueTask.FromCanceled<Tensor[]>(cancellationToken);
        }
        if (!_queue.TryGetLevel(work.Priority, out var level))
        {
            _observer.RequestFailed(SchedulerFailure.Other, TimeSpan.Zero);
            return ValueTask.FromException<Tensor[]>(InferenceException.Invalid(
                $"priority {work.Priority} is out of range for model '{_modelName}': valid priority levels are 1 to {_queue.LevelCount} (0 means the default, {_queue.DefaultLevel})"));
        }

        var request = _requests.Get();
        var version = request.Version;
        request.Work = work;
        request.CancellationToken = cancellationToken;
        request.Level = level;
        var batchSize = _batchDimension ? BatchAssembler.BatchSize(work) : 1;
        request.BatchSize = batchSize > int.MaxValue ? int.MaxValue : (int)batchSize;
        // Registered before the request is queued, so no dispatch can race with the registration;
        // a callback that fires before the enqueue sees State.New and leaves it to the check below.
        request.RegisterCancellation();

        InferenceException? refusal = null;
        var refusalReason = SchedulerFailure.Other;
        var full = false;
        var canceled = false;
        Dispatch dispatch = default;
        InstanceWorker? lent = null;
        long now;
        lock (_lock)
        {
            now = _time.GetTimestamp();
            if (_closing)
            {
                refusal = new InferenceException(InferenceErrorKind.Unavailable, $"model '{_modelName}' is unloading and takes no new requests");
            }
            else if (Refuses(level, now))
            {
                // Refused at once, with no work done for it: a request that cannot get a place in the queue gets its answer
                // in microseconds rather than after a wait that would end the same way. The answer is written outside the lock.
                full = true;
            }
            else if (cancellationToken.IsCancellationRequested)
            {
                canceled = true;
            }
            else
            {
                _queue.Enqueue(request, now);
                _order?.Arrived(request);
                _observer.RequestQueued();
                // With every instance busy there is nothing to hand out: the instance that finishes first takes
                // the queue's head itself. Dispatching still arms the timer for a new, earlier deadline.
                if (_pool.IdleCount > 0 || request.Deadline < _timerDue)
                {
                    dispatch = DispatchLocked(now);
                    // Only an instance whose thread is asleep is lent: handing a request to a thread that still spins
                    // costs no wake anyway, and lending such instances too cost REST binary 7% at concurrency 32 in a
                    // quiet paired run (issue 11; why was not profiled); in the server, only one asleep for
                    // CallerIdleLimit (lending after any sleep still cost REST binary c=32 in a quiet run). The state
                    // is read without the worker's cooperation, but a stale read only moves this one decision: an idle worker
                    // leaves Sleeping only by a Hand(), which comes after a dispatch under this lock, so "asleep" is
                    // never stale; "spinning" may be (it blocks a moment later), and then the request is handed over as
                    // it would be without run-on-caller, at worst with one wake. A lent worker's thread stays blocked
                    // in Sleeping throughout (nothing hands it anything), so the next Hand() wakes it as usual, and
                    // Stop() of one retired while lent still ends it.
                    if (_runOnCaller && _queue.Count == 0 && dispatch.Started is { NextStarted: null, Lease: null } worker
                        && worker.Batch.Count == 1 && ReferenceEquals(worker.Batch.Requests[0], request)
                        && worker.LastRunTicks <= _callerRunTicks && !InstanceWorker.OnInstanceThread
                        && worker.AsleepFor(_lendAfterAsleepTicks, Stopwatch.GetTimestamp()))
                    {
                        lent = worker;
                        dispatch = dispatch with { Started = null };
                    }
                }
            }
        }

        if (full)
        {
            refusalReason = SchedulerFailure.Rejected;
            refusal = new InferenceException(InferenceErrorKind.Unavailable, QueueFullMessage(level)) { RetryAfter = RetryAfter };
        }
        if (refusal is not null || canceled)
        {
            request.ReleaseCancellation();
            _requests.Return(request);
            if (canceled)
            {
                _observer.RequestFailed(SchedulerFailure.Canceled, TimeSpan.Zero);
                return ValueTask.FromCanceled<Tensor[]>(cancellationToken);
            }
            _observer.RequestFailed(refusalReason, TimeSpan.Zero);
            return ValueTask.FromException<Tensor[]>(refusal!);
        }
        Finish(dispatch);
        if (lent is not null)
        {
            RunOnCaller(lent);
        }
        return new ValueTask<Tensor[]>(request, version);
    }

    /// <summary>
    /// Runs the batch of <paramref name="worker"/>, lent to the calling thread by <see cref="ScheduleAsync"/>, and gives
    /// the instance back: the next batch, if one waits, goes to the instance's own thread.
    /// </summary>
    private void RunOnCaller(InstanceWorker worker)
    {
        var lone = ExecuteTimed(worker);
        bool stays;
        Dispatch dispatch;
        lock (_lock)
        {
            stays = _pool.Finished(worker, onItsThread: false);
            dispatch = DispatchLocked(worker);
        }
        Finish(dispatch);
        // Complete before the caller awaits it: its await continues at once, on this thread.
        lone?.Signal();
        if (!stays)
        {
            // Removed while it ran: its thread, still waiting for a batch, ends.
            worker.Stop();
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Under overload most arrivals are refused, and each one refused after its body was read, decoded and validated,
    /// and then thrown as an exception, took the core the model needed (issue 12: goodput at 3x capacity 57-91%). The
    /// decision is the one <see cref="ScheduleAsync"/> makes (<see cref="Refuses"/>, the arrival counted once), taken
    /// only when the level is full already: a request that may be admitted is looked at, not counted, and is counted
    /// when it is queued. A model with priority levels is left to ScheduleAsync, as its requests name their level in
    /// the body.
    /// </remarks>
    public string? RefuseBeforeReading()
    {
        if (_queue.Prioritized || !_queue.TryGetLevel(0, out var level))
        {
            return null;
        }
        lock (_lock)
        {
            // The arrival is counted (in Refuses) only for a refusal; when the window it closes ends the shedding, the
            // request is admitted and counted again when queued, the first arrival of the new window.
            if (_closing || !level.IsFullNow || !Refuses(level, _time.GetTimestamp()))
            {
                return null;
            }
        }
        _observer.RequestFailed(SchedulerFailure.Rejected, TimeSpan.Zero);
        return QueueFullMessage(level);
    }

    /// <summary>
    /// Whether <paramref name="level"/> refuses a request arriving at <paramref name="now"/>; under the lock. Shedding ends
    /// for every level once the arrivals show that demand fits capacity again, and a level that starts shedding starts a
    /// new window: the spare capacity seen before the overload says nothing about it.
    /// </summary>
    private bool Refuses(PriorityLevel level, long now)
    {
        if (_spare.Arrived(now))
        {
            _queue.StopShedding();
        }
        var shedding = level.Shedding;
        var full = level.IsFull(now, _shedAfterTicks);
        if (level.Shedding && !shedding)
        {
            _spare.Restart(now);
        }
        return full;
    }

    /// <summary>The token of a request fired: drop it if it still waits in the queue.</summary>
    internal void OnCanceled(QueuedRequest request)
    {
        long waited;
        Dispatch dispatch;
        lock (_lock)
        {
            if (request.State != RequestState.Queued)
            {
                return;
            }
            _queue.Remove(request);
            request.State = RequestState.Finished;
            _observer.RequestDequeued();
            var now = _time.GetTimestamp();
            waited = now - request.EnqueuedAt;
            // The queue's head may have changed, and a dispose may be waiting for the queue to empty.
            dispatch = DispatchLocked(now);
        }
        _observer.RequestFailed(SchedulerFailure.Canceled, TicksToTimeSpan(waited));
        request.Error = new OperationCanceledException(request.CancellationToken);
        Complete(request);
        Finish(dispatch);
    }

    // An empty queue with no timer armed has nothing to expire, form or arm: the common case after a batch, which
    // then skips reading the clock.
    private Dispatch DispatchLocked(InstanceWorker? finished = null) => _queue.Count == 0 && _timerDue == long.MaxValue && _pool.StagedCount == 0 && _granted is null
        ? new Dispatch(null, null, _closing && _pool.AllIdle)
        : DispatchLocked(_time.GetTimestamp(), finished);

    /// <summary>
    /// One pass under the lock: applies the queue timeouts, forms a batch for each idle instance while
    /// there is one to form, and arms the timer for the next deadline or end of a batch delay.
    /// <paramref name="finished"/> is the instance that has just finished a batch, if any: every other idle
    /// instance had nothing to do.
    /// </summary>
    private Dispatch DispatchLocked(long now, InstanceWorker? finished = null)
    {
        var expired = now >= _queue.NextDeadline ? _queue.Expire(now) : null;
        for (var request = expired; request is not null; request = request.NextExpired)
        {
            _observer.RequestDequeued();
        }
        var wakeAt = _queue.NextDeadline;
        InstanceWorker? started = null;
        // An instance waiting for resources has a claim on a request; one that asks for none, or holds its resources, may
        // still take it.
        while (_pool.IdleCount > 0 && _queue.Count > 0
            && (_queue.Count > _pool.StagedCount || _pool.PeekIdle() is { Lease: null } or { HoldsResources: true }))
        {
            var worker = _pool.PeekIdle();
            if (!_former.TryForm(_queue, now, _closing, worker.Batch, out var batchWakeAt))
            {
                wakeAt = Math.Min(wakeAt, batchWakeAt);
                break;
            }
            if (worker.Lease is { } lease && !worker.HoldsResources)
            {
                if (!_limiter!.TryAcquire(lease, ref _granted))
                {
                    // Its batch is formed again once it is granted, from whatever waits then.
                    var formed = worker.Batch;
                    Array.Clear(formed.Requests, 0, formed.Count);
                    formed.Count = 0;
                    formed.TotalSize = 0;
                    _pool.Stage();
                    worker.StagedAt = now;
                    continue;
                }
                worker.HoldsResources = true;
            }
            _pool.TakeIdle();
            var batch = worker.Batch;
            for (var i = 0; i < batch.Count; i++)
            {
                var request = batch.Requests[i];
                _queue.Remove(request);
                request.State = RequestState.Running;
                batch.Works[i] = request.Work;
                _observer.RequestDequeued();
            }
            // Spare capacity, for ending the shedding (see QueueDefaults.SpareShareDenominator): the instance had been
            // waiting for work, or it took everything that waited with room to spare.
            if (worker != finished || (batch.Count < _former.Capacity && _queue.Count == 0))
            {
                _spare.Spare(batch.Count);
            }
            worker.NextStarted = started;
            started = worker;
        }
        ArmTimerLocked(now, wakeAt);
        if (_limiter is not null)
        {
            SettleLocked(now);
        }
        return new Dispatch(expired, started, _closing && _queue.Count == 0 && _pool.AllIdle, TakeGrantedLocked());
    }

    /// <summary>
    /// After a dispatch pass with the rate limiter on: no instance holds resources it has no batch for, and no more
    /// instances wait in line than there are requests for them, so a cancelled or expired request leaves nothing held
    /// and no one behind it held up.
    /// </summary>
    private void SettleLocked(long now)
    {
        // Only a granted instance just put back can be idle and holding: it is the first idle one.
        if (_pool.IdleCount > 0 && _pool.PeekIdle() is { HoldsResources: true } holder)
        {
            holder.HoldsResources = false;
            _limiter!.Release(holder.Lease!, requeue: false, ref _granted);
        }
        var excess = _pool.StagedCount - _queue.Count;
        for (var i = _pool.StagedCount - 1; i >= 0 && excess > 0; i--)
        {
            var worker = _pool.StagedAt(i);
            if (worker.GrantPending)
            {
                continue;
            }
            excess--;
            if (!_limiter!.Withdraw(worker.Lease!, ref _granted))
            {
                // Granted already: its callback puts it back and gives the resources up.
                worker.GrantPending = true;
                continue;
            }
            _observer.ResourcesWaited(TicksToTimeSpan(now - worker.StagedAt));
            if (!_pool.Unstage(worker))
            {
                worker.Stop();
            }
        }
    }

    /// <summary>Carries out a dispatch outside the lock: fails the expired requests, wakes the instances.</summary>
    private void Finish(Dispatch dispatch)
    {
        for (var lease = dispatch.Granted; lease is not null;)
        {
            var next = lease.NextGranted;
            lease.NextGranted = null;
            lease.Owner.OnGranted(lease);
            lease = next;
        }
        for (var worker = dispatch.Started; worker is not null;)
        {
            var next = worker.NextStarted;
            worker.NextStarted = null;
            worker.Hand();
            worker = next;
        }
        for (var request = dispatch.Expired; request is not null;)
        {
            var next = request.NextExpired;
            request.NextExpired = null;
            Reject(request);
            request = next;
        }
        if (dispatch.Drained)
        {
            _drained.TrySetResult();
        }
    }

    // The timer is one-shot: once it fired nothing is armed, even when the timestamp has not reached the due time yet
    // (the timer queue counts on a coarser clock and may fire a few milliseconds early). Forgetting the due time makes
    // the dispatch below arm it again; otherwise it would see it still "armed" for a time that never comes, and
    // expiries and batch delays would wait for the next request or finished batch.
    private void OnTimer()
    {
        Dispatch dispatch;
        lock (_lock)
        {
            _timerDue = long.MaxValue;
            dispatch = DispatchLocked();
        }
        Finish(dispatch);
    }

    private void ArmTimerLocked(long now, long wakeAt)
    {
        if (_timerDue <= now)
        {
            // It fired (or is about to); either way it is no longer armed for later.
            _timerDue = long.MaxValue;
        }
        if (wakeAt == _timerDue)
        {
            return;
        }
        _timerDue = wakeAt;
        if (wakeAt == long.MaxValue)
        {
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }
        // Timers tick in milliseconds: rounding down would fire early and spin until the due time.
        var due = TicksToTimeSpan(wakeAt - now).Ticks;
        due = (due + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond * TimeSpan.TicksPerMillisecond;
        _timer.Change(TimeSpan.FromTicks(due), Timeout.InfiniteTimeSpan);
    }

    // Runs the worker's batch and keeps how long it took, which decides whether a caller may run its next one.
    private QueuedRequest? ExecuteTimed(InstanceWorker worker)
    {
        var began = Stopwatch.GetTimestamp();
        var lone = Execute(worker.Instance, worker.Batch);
        worker.LastRunTicks = Stopwatch.GetTimestamp() - began;
        return lone;
    }

    /// <summary>The body of each instance's thread.</summary>
    private void RunWorker(InstanceWorker worker)
    {
        while (worker.WaitForBatch())
        {
            var lone = ExecuteTimed(worker);
            bool stays;
            Dispatch dispatch;
            lock (_lock)
            {
                stays = _pool.Finished(worker);
                if (worker.HoldsResources)
                {
                    ReleaseAfterBatchLocked(worker, stays);
                }
                // Takes the next batch for this instance (the most recently idled) when one is waiting; also when
                // it leaves, as a dispose may be waiting for every remaining instance to be idle.
                dispatch = DispatchLocked(worker);
            }
            Finish(dispatch);
            if (lone is not null)
            {
                // Idle first, then the caller's continuation: a request the continuation (or anyone) sends meanwhile
                // is handed to this instance at once and runs as soon as the continuation yields. Had a batch come
                // already, the answer takes the thread-pool hop instead of holding it up.
                lone.Signal(inline: !worker.HasBatch);
            }
            if (!stays)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Gives back the resources <paramref name="worker"/> ran its batch with. When it stays and work waits for it, it
    /// takes its place in line again in the same step, so that it competes with the other waiters by weight rather
    /// than handing its turn to whoever waits.
    /// </summary>
    private void ReleaseAfterBatchLocked(InstanceWorker worker, bool stays)
    {
        worker.HoldsResources = false;
        var requeue = stays && _queue.Count > _pool.StagedCount;
        if (_limiter!.Release(worker.Lease!, requeue, ref _granted))
        {
            // Its turn again at once; it is the first idle one, and the dispatch pass hands it the batch.
            worker.HoldsResources = true;
        }
        else if (requeue)
        {
            _pool.Stage();
            worker.StagedAt = _time.GetTimestamp();
        }
    }

    /// <summary>
    /// Runs one batch on <paramref name="instance"/> and answers its requests, except a lone request whose
    /// answer may continue on this thread: that one is returned, complete but not yet signalled.
    /// </summary>
    private QueuedRequest? Execute(IModelInstance instance, Batch batch)
    {
        var count = batch.Count;
        var requests = batch.Requests;
        var works = batch.Works;
        for (var i = 0; i < count; i++)
        {
            // From here on the request runs whatever its token does: its inputs are in use until the run ends.
            requests[i].ReleaseCancellation();
        }

        var batched = count > 1;
        var started = _time.GetTimestamp();
        var inputDone = started;
        var inferDone = started;
        Exception? failure = null;
        try
        {
            IReadOnlyList<Tensor> inputs;
            if (batched)
            {
                var inputCount = works[0].Inputs.Count;
                if (batch.Inputs.Length != inputCount)
                {
                    batch.Inputs = new Tensor[inputCount];
                }
                BatchAssembler.AssembleInputs(works, count, batch.TotalSize, batch.Inputs);
                inputs = batch.Inputs;
                inputDone = _time.GetTimestamp();
            }
            else
            {
                // One request fills the batch: its own tensors go to the instance uncopied.
                inputs = works[0].Inputs;
            }

            Tensor[] outputs;
            try
            {
                outputs = instance.Run(inputs, works[0].OutputNames);
            }
            finally
            {
                if (batched)
                {
                    BatchAssembler.DisposeAll(batch.Inputs, batch.Inputs.Length);
                }
            }
            inferDone = _time.GetTimestamp();

            if (batched)
            {
                try
                {
                    BatchAssembler.ScatterOutputs(outputs, works, count, batch.TotalSize, batch.Results);
                }
                finally
                {
                    foreach (var output in outputs)
                    {
                        output.Dispose();
                    }
                }
                for (var i = 0; i < count; i++)
                {
                    requests[i].Result = batch.Results[i];
                    batch.Results[i] = null;
                }
            }
            else
            {
                requests[0].Result = outputs;
            }
        }
        catch (Exception e)
        {
            failure = e;
        }
        // A lone request is neither assembled nor scattered: its input and output times are zero, as Triton reports
        // them for a backend that reads and writes the request's own buffers.
        var outputDone = batched ? _time.GetTimestamp() : inferDone;

        var computeInput = _time.GetElapsedTime(started, inputDone);
        var computeInfer = _time.GetElapsedTime(inputDone, inferDone);
        var computeOutput = _time.GetElapsedTime(inferDone, outputDone);
        if (failure is null)
        {
            _observer.BatchExecuted(batch.TotalSize, computeInput, computeInfer, computeOutput);
        }
        // The caller's continuation runs on this thread when the instance would go idle anyway: one request, nothing
        // waiting for an instance (an unlocked read; RunWorker checks again), no response order to keep, and outputs
        // small enough that encoding the response costs microseconds. The hop to the thread pool, and the wake of a
        // pool thread, then disappear from the path of a lone request. The continuations are the server's own async
        // request paths, which hand off at their first wait and never block on another request.
        var inline = count == 1 && failure is null && _order is null && _queue.Count == 0 && IsSmall(requests[0].Result!);
        QueuedRequest? lone = null;
        var reason = failure is BackendException ? SchedulerFailure.Backend : SchedulerFailure.Other;
        var kind = failure is BackendException backend ? backend.Kind : InferenceErrorKind.Internal;
        for (var i = 0; i < count; i++)
        {
            var request = requests[i];
            requests[i] = null!;
            works[i] = null!;
            var queued = _time.GetElapsedTime(request.EnqueuedAt, started);
            // Statistics are recorded before the caller is released, so a client that reads them after its
            // response already finds its request counted.
            if (failure is null)
            {
                _observer.RequestSucceeded(queued, computeInput, computeInfer, computeOutput);
            }
            else
            {
                _observer.RequestFailed(reason, queued);
                // One exception per request: awaiters on different threads must not share a stack trace.
                request.Error = new InferenceException(kind, $"model '{_modelName}' failed to run: {failure.Message}", failure) { Scheduled = true };
            }
            if (inline)
            {
                lone = request;
            }
            else
            {
                Complete(request);
            }
        }
        batch.Count = 0;
        batch.TotalSize = 0;
        return lone;
    }

    private static bool IsSmall(Tensor[] outputs)
    {
        long bytes = 0;
        foreach (var output in outputs)
        {
            bytes += output.ByteLength;
        }
        return bytes <= InlineOutputBytes;
    }

    private void Reject(QueuedRequest request)
    {
        request.ReleaseCancellation();
        _observer.RequestFailed(SchedulerFailure.Rejected, _time.GetElapsedTime(request.EnqueuedAt));
        // Triton answers a queue timeout UNAVAILABLE ("Request timeout expired"), REST 503: the server is too busy now,
        // which is what a client's retry policy needs to know; it is not the client's own deadline passing.
        request.Error = new InferenceException(InferenceErrorKind.Unavailable,
            $"request to model '{_modelName}' timed out after {request.TimeoutMicroseconds} µs in the queue (priority level {request.Level.Level}) before it could run; retry later")
        {
            RetryAfter = RetryAfter,
            Scheduled = true,
        };
        Complete(request);
    }

    // Read outside the lock: the counts may have moved on since the refusal, which a message can live with. Under overload
    // most arrivals are refused, so the message is built once for each bound and instance count, not for each refusal;
    // the same string also lets a protocol keep the error body it encoded from it.
    private string QueueFullMessage(PriorityLevel level)
    {
        var size = level.ConfiguredMaxQueueSize > 0 ? level.ConfiguredMaxQueueSize : level.SheddingQueueSize;
        var instances = Math.Max(1, _pool.Count);
        if (level.Refusal is { } built && built.QueueSize == size && built.Instances == instances)
        {
            return built.Text;
        }
        var text = level.ConfiguredMaxQueueSize > 0
            ? $"model '{_modelName}' priority level {level.Level} queue is full (max_queue_size {size}); retry later"
            : $"model '{_modelName}' priority level {level.Level} is overloaded: its queue has not drained for {QueueDefaults.ShedAfter.TotalMilliseconds:0} ms "
              + $"and holds {size} requests, the server's default while it sheds load ({_queueDefaults.MaxQueueBatches} batch(es) of {_former.Capacity} per instance, "
              + $"{instances} instance(s); max_queue_size in the model's queue policy sets a bound of its own); retry later";
        level.Refusal = new RefusalMessage(size, instances, text);
        return text;
    }

    /// <summary>Hands the request's outcome to its caller, in arrival order when preserve_ordering is set.</summary>
    private void Complete(QueuedRequest request)
    {
        if (_order is null)
        {
            request.Signal();
        }
        else
        {
            _order.Finished(request);
        }
    }

    /// <summary>Takes a request back once its caller has read the result.</summary>
    internal void Return(QueuedRequest request) => _requests.Return(request);

    /// <summary>Refuses new work, runs everything already queued (without further delay), then releases the instances once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposeStarted, 1) != 0)
        {
            await _disposed.Task.ConfigureAwait(false);
            return;
        }
        try
        {
            Dispatch dispatch;
            lock (_lock)
            {
                _closing = true;
                dispatch = DispatchLocked();
            }
            Finish(dispatch);
            await _drained.Task.ConfigureAwait(false);
            InstanceWorker[] workers;
            lock (_lock)
            {
                workers = _pool.ToArray();
            }
            foreach (var worker in workers)
            {
                worker.Stop();
            }
            foreach (var worker in workers)
            {
                await worker.Exited.ConfigureAwait(false);
            }
            // What the instances held goes back, and whoever waited behind them is woken.
            Unregister(workers);
            _timer.Dispose();
            foreach (var worker in workers)
            {
                worker.Instance.Dispose();
            }
        }
        finally
        {
            _disposed.TrySetResult();
        }
    }

    private TimeSpan TicksToTimeSpan(long timestampTicks) => _time.GetElapsedTime(0, timestampTicks);
}
