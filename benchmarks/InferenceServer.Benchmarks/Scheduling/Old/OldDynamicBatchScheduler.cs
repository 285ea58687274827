using InferenceServer.Core.Backends;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Scheduling;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Benchmarks.Scheduling.Old;

/// <summary>
/// Triton's dynamic batcher. Requests wait in per-priority FIFO queues; whenever an instance is
/// idle, one single-drainer loop (Kestrel's IOQueue pattern: at most one drain runs, and a signal
/// during a drain makes it run again) forms the next batch: the head of the highest-priority queue,
/// followed by every compatible request that fits in max_batch_size. It dispatches at once when
/// a preferred batch size can be formed or the batch is full, otherwise when the oldest request
/// has waited max_queue_delay_microseconds. Each instance runs its batches on its own thread.
/// </summary>
internal sealed class OldDynamicBatchScheduler : IScheduler, IThreadPoolWorkItem
{
    // A pool larger than this would only keep memory from a past burst alive.
    private const int MaxPooledRequests = 1024;

    private readonly Lock _lock = new();
    private readonly Lock _orderLock = new();
    private readonly Lock _poolLock = new();
    private readonly string _modelName;
    private readonly int _maxBatchSize;
    private readonly bool[] _preferred;
    private readonly long _delayTicks;
    private readonly bool _preserveOrdering;
    private readonly OldPriorityLevel[] _levels;
    private readonly int _defaultLevel;
    private readonly int _scanLimit;
    private readonly TimeProvider _time;
    private readonly ISchedulerObserver _observer;
    private readonly ITimer _timer;
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Guarded by _lock: every worker (a removed one leaves once its batch is done), the idle ones.
    private readonly List<OldBatchWorker> _workers = [];
    private OldBatchWorker[] _idle;
    private int _idleCount;
    private int _retiringCount;
    private int _nextWorkerIndex;
    private int _pending;
    private long _nextDeadline = long.MaxValue;
    private long _timerDue = long.MaxValue;
    private bool _closing;

    // Guarded by _orderLock: admitted requests in arrival order (preserve_ordering only).
    private OldQueuedRequest? _firstArrived;
    private OldQueuedRequest? _lastArrived;

    // Guarded by _poolLock.
    private OldQueuedRequest? _free;
    private int _freeCount;

    private int _drainScheduled;
    private int _drainRequested;
    private int _disposeStarted;

    /// <summary>
    /// Starts one worker thread per instance; the scheduler owns the instances from now on.
    /// <paramref name="maxBatchSize"/> is the model's max_batch_size (at least 1).
    /// </summary>
    public OldDynamicBatchScheduler(
        string modelName,
        int maxBatchSize,
        DynamicBatchingConfig config,
        IReadOnlyList<IModelInstance> instances,
        TimeProvider timeProvider,
        ISchedulerObserver observer)
    {
        ArgumentOutOfRangeException.ThrowIfZero(instances.Count);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        _modelName = modelName;
        _maxBatchSize = maxBatchSize;
        _time = timeProvider;
        _observer = observer;
        _preserveOrdering = config.PreserveOrdering;
        _delayTicks = ToTicks(config.MaxQueueDelayMicroseconds, timeProvider.TimestampFrequency);
        _scanLimit = Math.Max(64, 4 * maxBatchSize);

        _preferred = new bool[maxBatchSize + 1];
        foreach (var size in config.PreferredBatchSizes)
        {
            // A preferred size above max_batch_size can never be formed; Triton rejects such configs.
            if (size >= 1 && size <= maxBatchSize)
            {
                _preferred[size] = true;
            }
        }

        var levelCount = Math.Max(config.PriorityLevels, 1);
        _defaultLevel = config.PriorityLevels > 0 ? Math.Clamp(config.DefaultPriorityLevel, 1, levelCount) : 1;
        _levels = new OldPriorityLevel[levelCount];
        for (var i = 0; i < levelCount; i++)
        {
            var policy = config.PriorityQueuePolicy.TryGetValue(i + 1, out var specific) ? specific : config.DefaultQueuePolicy;
            _levels[i] = new OldPriorityLevel(i + 1, policy);
        }

        // Timers and worker threads must not capture whichever request's context created the model.
        using (ExecutionContext.SuppressFlow())
        {
            _timer = timeProvider.CreateTimer(static state => ((OldDynamicBatchScheduler)state!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
        _idle = new OldBatchWorker[instances.Count];
        var started = new List<OldBatchWorker>(instances.Count);
        lock (_lock)
        {
            foreach (var instance in instances)
            {
                started.Add(AddWorkerLocked(instance));
            }
        }
        foreach (var worker in started)
        {
            worker.Start($"batcher {modelName} #{worker.Index}", RunWorker);
        }
    }

    private OldBatchWorker AddWorkerLocked(IModelInstance instance)
    {
        var worker = new OldBatchWorker(instance, _nextWorkerIndex++, _maxBatchSize);
        _workers.Add(worker);
        if (_idle.Length < _workers.Count)
        {
            Array.Resize(ref _idle, Math.Max(_workers.Count, 2 * _idle.Length));
        }
        _idle[_idleCount++] = worker;
        return worker;
    }

    /// <inheritdoc />
    public bool TryAddInstance(IModelInstance instance)
    {
        OldBatchWorker worker;
        lock (_lock)
        {
            if (_closing)
            {
                return false;
            }
            worker = AddWorkerLocked(instance);
        }
        // A batch handed to it before its thread runs waits in its semaphore.
        worker.Start($"batcher {_modelName} #{worker.Index}", RunWorker);
        ScheduleDrain();
        return true;
    }

    /// <inheritdoc />
    public async ValueTask<bool> RemoveInstanceAsync(IModelInstance instance)
    {
        OldBatchWorker? worker;
        var idle = false;
        lock (_lock)
        {
            worker = _workers.Find(w => ReferenceEquals(w.Instance, instance));
            if (worker is null || worker.Retiring || _workers.Count - _retiringCount <= 1)
            {
                return false;
            }
            var at = Array.IndexOf(_idle, worker, 0, _idleCount);
            if (at >= 0)
            {
                // Idle: it leaves now.
                _idle[at] = _idle[--_idleCount];
                _idle[_idleCount] = null!;
                _workers.Remove(worker);
                idle = true;
            }
            else
            {
                // Busy (or just handed a batch): it finishes that batch, then leaves instead of going idle.
                worker.Retiring = true;
                _retiringCount++;
            }
        }
        if (idle)
        {
            worker.Stop();
        }
        await worker.Exited.ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc />
    public ValueTask<Tensor[]> ScheduleAsync(SchedulerWork work, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            _observer.RequestFailed(SchedulerFailure.Canceled, TimeSpan.Zero);
            return ValueTask.FromCanceled<Tensor[]>(cancellationToken);
        }
        var priority = work.Priority == 0 ? _defaultLevel : work.Priority;
        if (priority < 1 || priority > _levels.Length)
        {
            _observer.RequestFailed(SchedulerFailure.Other, TimeSpan.Zero);
            return ValueTask.FromException<Tensor[]>(InferenceException.Invalid(
                $"priority {work.Priority} is out of range for model '{_modelName}': valid priority levels are 1 to {_levels.Length} (0 means the default, {_defaultLevel})"));
        }
        var level = _levels[priority - 1];
        var batchSize = BatchAssembler.BatchSize(work);

        var request = Rent();
        request.Work = work;
        request.CancellationToken = cancellationToken;
        request.Level = level;
        request.BatchSize = batchSize > int.MaxValue ? int.MaxValue : (int)batchSize;
        // Registered before the request is queued, so no dispatch can race with the registration;
        // a callback that fires before the enqueue sees State.New and leaves it to the check below.
        request.RegisterCancellation();

        InferenceException? refusal = null;
        var refusalReason = SchedulerFailure.Other;
        var canceled = false;
        var wake = false;
        lock (_lock)
        {
            if (_closing)
            {
                refusal = new InferenceException(InferenceErrorKind.Unavailable, $"model '{_modelName}' is unloading and takes no new requests");
            }
            else if (level.MaxQueueSize > 0 && level.Count >= level.MaxQueueSize)
            {
                refusalReason = SchedulerFailure.Rejected;
                refusal = new InferenceException(InferenceErrorKind.Unavailable,
                    $"model '{_modelName}' priority level {level.Level} queue is full (max_queue_size {level.MaxQueueSize}); retry later");
            }
            else if (cancellationToken.IsCancellationRequested)
            {
                canceled = true;
            }
            else
            {
                var now = _time.GetTimestamp();
                request.EnqueuedAt = now;
                request.TimeoutMicroseconds = level.TimeoutMicroseconds(work.TimeoutMicroseconds);
                request.Deadline = request.TimeoutMicroseconds > 0 ? now + ToTicks(request.TimeoutMicroseconds, _time.TimestampFrequency) : long.MaxValue;
                request.State = OldRequestState.Queued;
                level.Ready.AddLast(request);
                _pending++;
                _nextDeadline = Math.Min(_nextDeadline, request.Deadline);
                if (_preserveOrdering)
                {
                    lock (_orderLock)
                    {
                        if (_lastArrived is null)
                        {
                            _firstArrived = request;
                        }
                        else
                        {
                            _lastArrived.NextArrived = request;
                        }
                        _lastArrived = request;
                    }
                }
                _observer.RequestQueued();
                // Under load every instance is busy: the drain that follows a finished batch will
                // see this request, so only wake the drainer when it can act now or must arm a timer.
                wake = _idleCount > 0 || request.Deadline < _timerDue;
            }
        }

        if (refusal is not null || canceled)
        {
            request.ReleaseCancellation();
            Return(request);
            if (canceled)
            {
                _observer.RequestFailed(SchedulerFailure.Canceled, TimeSpan.Zero);
                return ValueTask.FromCanceled<Tensor[]>(cancellationToken);
            }
            _observer.RequestFailed(refusalReason, TimeSpan.Zero);
            return ValueTask.FromException<Tensor[]>(refusal!);
        }
        if (wake)
        {
            ScheduleDrain();
        }
        return new ValueTask<Tensor[]>(request, request.Version);
    }

    /// <summary>The token of a request fired: drop it if it still waits in a queue.</summary>
    internal void OnCanceled(OldQueuedRequest request)
    {
        long waited;
        lock (_lock)
        {
            if (request.State != OldRequestState.Queued)
            {
                return;
            }
            request.List!.Remove(request);
            request.State = OldRequestState.Finished;
            _pending--;
            _observer.RequestDequeued();
            waited = _time.GetTimestamp() - request.EnqueuedAt;
        }
        _observer.RequestFailed(SchedulerFailure.Canceled, TicksToTimeSpan(waited));
        request.Error = new OperationCanceledException(request.CancellationToken);
        Complete(request);
        // The queue's head may have changed, and a dispose may be waiting for the queue to empty.
        ScheduleDrain();
    }

    private void ScheduleDrain()
    {
        Volatile.Write(ref _drainRequested, 1);
        if (Interlocked.CompareExchange(ref _drainScheduled, 1, 0) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    void IThreadPoolWorkItem.Execute()
    {
        while (true)
        {
            while (Interlocked.Exchange(ref _drainRequested, 0) != 0)
            {
                Drain();
            }
            Volatile.Write(ref _drainScheduled, 0);
            Interlocked.MemoryBarrier();
            // A signal that arrived after the last pass but saw the drain still scheduled is ours to serve.
            if (Volatile.Read(ref _drainRequested) == 0 || Interlocked.Exchange(ref _drainScheduled, 1) != 0)
            {
                return;
            }
        }
    }

    /// <summary>One pass: expire timed-out requests, hand batches to idle instances, arm the timer.</summary>
    private void Drain()
    {
        OldQueuedRequest? expired = null;
        OldBatchWorker? started = null;
        var drained = false;
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            if (now >= _nextDeadline)
            {
                expired = ExpireLocked(now);
            }
            var wakeAt = _nextDeadline;
            while (_idleCount > 0 && _pending > 0)
            {
                var worker = _idle[_idleCount - 1];
                if (!FormBatchLocked(now, worker, out var batchWakeAt))
                {
                    wakeAt = Math.Min(wakeAt, batchWakeAt);
                    break;
                }
                _idleCount--;
                _idle[_idleCount] = null!;
                for (var i = 0; i < worker.Count; i++)
                {
                    var request = worker.Requests[i];
                    request.List!.Remove(request);
                    request.State = OldRequestState.Running;
                    worker.Works[i] = request.Work;
                    _pending--;
                    _observer.RequestDequeued();
                }
                worker.NextStarted = started;
                started = worker;
            }
            ArmTimerLocked(now, wakeAt);
            drained = _closing && _pending == 0 && _idleCount == _workers.Count;
        }

        while (expired is not null)
        {
            var next = expired.NextExpired;
            expired.NextExpired = null;
            Reject(expired);
            expired = next;
        }
        while (started is not null)
        {
            var next = started.NextStarted;
            started.NextStarted = null;
            started.Run();
            started = next;
        }
        if (drained)
        {
            _drained.TrySetResult();
        }
    }

    /// <summary>
    /// Applies the timeout action to every queued request whose timeout passed; returns the
    /// rejected ones, chained, to be failed outside the lock.
    /// </summary>
    private OldQueuedRequest? ExpireLocked(long now)
    {
        OldQueuedRequest? rejected = null;
        var nextDeadline = long.MaxValue;
        foreach (var level in _levels)
        {
            var request = level.Ready.First;
            while (request is not null)
            {
                var next = request.Next;
                if (request.Deadline <= now)
                {
                    level.Ready.Remove(request);
                    if (level.TimeoutAction == TimeoutAction.Reject)
                    {
                        request.State = OldRequestState.Finished;
                        _pending--;
                        _observer.RequestDequeued();
                        request.NextExpired = rejected;
                        rejected = request;
                    }
                    else
                    {
                        // DELAY: it stays, behind every request of its level that has not timed out.
                        request.Deadline = long.MaxValue;
                        level.Delayed.AddLast(request);
                    }
                }
                else if (request.Deadline < nextDeadline)
                {
                    nextDeadline = request.Deadline;
                }
                request = next;
            }
        }
        _nextDeadline = nextDeadline;
        return rejected;
    }

    /// <summary>
    /// Picks the next batch into <paramref name="worker"/>'s arrays, or decides to wait (false,
    /// with the timestamp at which waiting ends in <paramref name="wakeAt"/>).
    /// </summary>
    private bool FormBatchLocked(long now, OldBatchWorker worker, out long wakeAt)
    {
        wakeAt = long.MaxValue;
        var requests = worker.Requests;
        var count = 0;
        var total = 0;
        var preferredCount = 0;
        var preferredTotal = 0;
        var oldest = long.MaxValue;
        var full = false;
        var examined = 0;
        OldQueuedRequest? head = null;

        foreach (var level in _levels)
        {
            for (var list = level.Ready; list is not null; list = ReferenceEquals(list, level.Ready) ? level.Delayed : null)
            {
                for (var request = list.First; request is not null; request = request.Next)
                {
                    if (++examined > _scanLimit)
                    {
                        goto Formed;
                    }
                    if (head is null)
                    {
                        head = request;
                        if (request.BatchSize >= _maxBatchSize || request.Work.Inputs.Count == 0)
                        {
                            // Alone it fills the batch (or it has nothing to join along).
                            requests[count++] = request;
                            total = request.BatchSize;
                            oldest = request.EnqueuedAt;
                            full = true;
                            goto Formed;
                        }
                    }
                    else if (!BatchAssembler.CanJoin(head.Work, request.Work))
                    {
                        // Never mixed in; as the head of a later batch it starts that batch.
                        continue;
                    }
                    else if (total + request.BatchSize > _maxBatchSize)
                    {
                        full = true;
                        goto Formed;
                    }
                    requests[count++] = request;
                    total += request.BatchSize;
                    oldest = Math.Min(oldest, request.EnqueuedAt);
                    if (_preferred[total])
                    {
                        preferredCount = count;
                        preferredTotal = total;
                    }
                    if (total == _maxBatchSize)
                    {
                        full = true;
                        goto Formed;
                    }
                }
            }
        }

    Formed:
        if (count == 0)
        {
            return false;
        }
        if (preferredCount > 0)
        {
            // The largest preferred size the queue can form goes at once.
            Array.Clear(requests, preferredCount, count - preferredCount);
            count = preferredCount;
            total = preferredTotal;
        }
        else if (!full && !_closing && now - oldest < _delayTicks)
        {
            // Waiting may still fill the batch (or reach a preferred size).
            Array.Clear(requests, 0, count);
            wakeAt = oldest + _delayTicks;
            return false;
        }
        worker.Count = count;
        worker.TotalSize = total;
        return true;
    }

    // The timer is one-shot: once it fired nothing is armed, even when the timestamp has not reached the due time yet
    // (the timer queue counts on a coarser clock and may fire a few milliseconds early). Forgetting the due time makes
    // the drain below arm it again; otherwise that drain would see it still "armed" for a time that never comes, and
    // expiries and batch delays would wait for the next request or finished batch.
    private void OnTimer()
    {
        lock (_lock)
        {
            _timerDue = long.MaxValue;
        }
        ScheduleDrain();
    }

    private void ArmTimerLocked(long now, long wakeAt)
    {
        if (_timerDue <= now)
        {
            // It fired (that is why we are draining) or is about to; either way it is no longer armed for later.
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

    private void RunWorker(OldBatchWorker worker)
    {
        while (worker.WaitForBatch())
        {
            ExecuteBatch(worker);
            bool leaving;
            lock (_lock)
            {
                leaving = worker.Retiring;
                if (leaving)
                {
                    _workers.Remove(worker);
                    _retiringCount--;
                }
                else
                {
                    _idle[_idleCount++] = worker;
                }
            }
            // Also when leaving: a dispose may be waiting for every remaining worker to be idle.
            ScheduleDrain();
            if (leaving)
            {
                return;
            }
        }
    }

    private void ExecuteBatch(OldBatchWorker worker)
    {
        var count = worker.Count;
        var requests = worker.Requests;
        var works = worker.Works;
        for (var i = 0; i < count; i++)
        {
            // From here on the request runs whatever its token does.
            requests[i].ReleaseCancellation();
        }

        var started = _time.GetTimestamp();
        var inputDone = started;
        var inferDone = started;
        Exception? failure = null;
        try
        {
            IReadOnlyList<Tensor> inputs;
            var batched = count > 1;
            if (batched)
            {
                var inputCount = works[0].Inputs.Count;
                if (worker.Inputs.Length != inputCount)
                {
                    worker.Inputs = new Tensor[inputCount];
                }
                BatchAssembler.AssembleInputs(works, count, worker.TotalSize, worker.Inputs);
                inputs = worker.Inputs;
            }
            else
            {
                // One request fills the batch: its own tensors go to the instance uncopied.
                inputs = works[0].Inputs;
            }
            inputDone = _time.GetTimestamp();

            Tensor[] outputs;
            try
            {
                outputs = worker.Instance.Run(inputs, works[0].OutputNames);
            }
            finally
            {
                if (batched)
                {
                    BatchAssembler.DisposeAll(worker.Inputs, worker.Inputs.Length);
                }
            }
            inferDone = _time.GetTimestamp();

            if (batched)
            {
                try
                {
                    BatchAssembler.ScatterOutputs(outputs, works, count, worker.TotalSize, worker.Results);
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
                    requests[i].Result = worker.Results[i];
                    worker.Results[i] = null;
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
        var outputDone = _time.GetTimestamp();

        var computeInput = _time.GetElapsedTime(started, inputDone);
        var computeInfer = _time.GetElapsedTime(inputDone, inferDone);
        var computeOutput = _time.GetElapsedTime(inferDone, outputDone);
        if (failure is null)
        {
            _observer.BatchExecuted(worker.TotalSize, computeInput, computeInfer, computeOutput);
        }
        var reason = failure is BackendException ? SchedulerFailure.Backend : SchedulerFailure.Other;
        var kind = failure is BackendException { Code: "INVALID_ARGUMENT" } ? InferenceErrorKind.InvalidArgument : InferenceErrorKind.Internal;
        for (var i = 0; i < count; i++)
        {
            var request = requests[i];
            requests[i] = null!;
            works[i] = null!;
            var queued = _time.GetElapsedTime(request.EnqueuedAt, started);
            if (failure is null)
            {
                _observer.RequestSucceeded(queued, computeInput, computeInfer, computeOutput);
            }
            else
            {
                _observer.RequestFailed(reason, queued);
                // One exception per request: awaiters on different threads must not share a stack trace.
                request.Error = new InferenceException(kind, $"model '{_modelName}' failed to run: {failure.Message}", failure);
            }
            Complete(request);
        }
        worker.Count = 0;
        worker.TotalSize = 0;
    }

    private void Reject(OldQueuedRequest request)
    {
        request.ReleaseCancellation();
        _observer.RequestFailed(SchedulerFailure.Rejected, _time.GetElapsedTime(request.EnqueuedAt));
        request.Error = new InferenceException(InferenceErrorKind.DeadlineExceeded,
            $"request to model '{_modelName}' timed out after {request.TimeoutMicroseconds} µs in the queue (priority level {request.Level.Level}) before it could run");
        Complete(request);
    }

    /// <summary>Hands the request's outcome to its caller, in arrival order when preserve_ordering is set.</summary>
    private void Complete(OldQueuedRequest request)
    {
        if (!_preserveOrdering)
        {
            request.Signal();
            return;
        }
        lock (_orderLock)
        {
            request.Finished = true;
            // Continuations run asynchronously, so signalling under the lock is cheap and keeps the order.
            while (_firstArrived is { Finished: true } first)
            {
                _firstArrived = first.NextArrived;
                if (_firstArrived is null)
                {
                    _lastArrived = null;
                }
                first.Signal();
            }
        }
    }

    private OldQueuedRequest Rent()
    {
        lock (_poolLock)
        {
            var request = _free;
            if (request is not null)
            {
                _free = request.NextFree;
                request.NextFree = null;
                _freeCount--;
                return request;
            }
        }
        return new OldQueuedRequest(this);
    }

    /// <summary>Takes a request back once its caller has read the result.</summary>
    internal void Return(OldQueuedRequest request)
    {
        request.Reset();
        lock (_poolLock)
        {
            if (_freeCount < MaxPooledRequests)
            {
                request.NextFree = _free;
                _free = request;
                _freeCount++;
            }
        }
    }

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
            lock (_lock)
            {
                _closing = true;
            }
            ScheduleDrain();
            await _drained.Task.ConfigureAwait(false);
            OldBatchWorker[] workers;
            lock (_lock)
            {
                workers = _workers.ToArray();
            }
            foreach (var worker in workers)
            {
                worker.Stop();
            }
            foreach (var worker in workers)
            {
                await worker.Exited.ConfigureAwait(false);
            }
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

    private static long ToTicks(long microseconds, long frequency)
    {
        if (microseconds <= 0)
        {
            return 0;
        }
        // Capped so that now + ticks cannot overflow.
        var ticks = (Int128)microseconds * frequency / 1_000_000;
        return ticks > long.MaxValue / 4 ? long.MaxValue / 4 : (long)ticks;
    }
}
