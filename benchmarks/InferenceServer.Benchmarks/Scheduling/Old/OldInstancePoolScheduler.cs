using System.Threading.Channels;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Scheduling;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Benchmarks.Scheduling.Old;

/// <summary>
/// Triton's default scheduler: no batching across requests; each instance runs one request at a
/// time, and an idle instance takes the next request from one shared FIFO queue. A slow request
/// on one instance never holds up another instance.
/// </summary>
internal sealed class OldInstancePoolScheduler : IScheduler
{
    private readonly Channel<PendingWork> _queue = Channel.CreateUnbounded<PendingWork>(
        new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });
    private readonly Lock _lock = new();
    // Guarded by _lock: the instances taking work now; a removed one leaves as soon as it is idle.
    private readonly List<Worker> _workers = [];
    private readonly string _modelName;
    private readonly TimeProvider _time;
    private readonly ISchedulerObserver _observer;
    private readonly bool _batchDimension;
    private bool _closing;
    private int _instancesDisposed;

    /// <summary>
    /// Starts one worker per instance; the scheduler owns the instances from now on. Durations are
    /// measured with <paramref name="timeProvider"/> (default <see cref="TimeProvider.System"/>) and
    /// reported to <paramref name="observer"/> (default <see cref="NullSchedulerObserver.Instance"/>).
    /// <paramref name="batchDimension"/>: the model batches (max_batch_size &gt; 0), so a request
    /// counts as its first dimension in the batch statistics.
    /// </summary>
    public OldInstancePoolScheduler(string modelName, IReadOnlyList<IModelInstance> instances, TimeProvider? timeProvider = null, ISchedulerObserver? observer = null, bool batchDimension = false)
    {
        ArgumentOutOfRangeException.ThrowIfZero(instances.Count);
        _modelName = modelName;
        _time = timeProvider ?? TimeProvider.System;
        _observer = observer ?? NullSchedulerObserver.Instance;
        _batchDimension = batchDimension;
        lock (_lock)
        {
            foreach (var instance in instances)
            {
                StartWorkerLocked(instance);
            }
        }
    }

    private void StartWorkerLocked(IModelInstance instance)
    {
        var worker = new Worker(instance);
        _workers.Add(worker);
        worker.Loop = Task.Run(() => RunWorkerAsync(worker));
    }

    /// <inheritdoc />
    public bool TryAddInstance(IModelInstance instance)
    {
        lock (_lock)
        {
            if (_closing)
            {
                return false;
            }
            StartWorkerLocked(instance);
            return true;
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> RemoveInstanceAsync(IModelInstance instance)
    {
        Worker? worker;
        lock (_lock)
        {
            worker = _workers.Find(w => ReferenceEquals(w.Instance, instance));
            if (worker is null || _workers.Count == 1)
            {
                return false;
            }
            _workers.Remove(worker);
        }
        // It takes nothing more from the queue; what it runs now finishes and answers its caller.
        await worker.Stop.CancelAsync().ConfigureAwait(false);
        await worker.Loop.ConfigureAwait(false);
        worker.Stop.Dispose();
        return true;
    }

    /// <inheritdoc />
    public ValueTask<Tensor[]> ScheduleAsync(SchedulerWork work, CancellationToken cancellationToken)
    {
        var pending = new PendingWork(work, _time.GetTimestamp(), this, cancellationToken);
        // Counted before the write: a worker may dequeue it (and count that) at once.
        _observer.RequestQueued();
        if (!_queue.Writer.TryWrite(pending))
        {
            _observer.RequestDequeued();
            pending.Dispose();
            _observer.RequestFailed(SchedulerFailure.Other, TimeSpan.Zero);
            throw new InferenceException(InferenceErrorKind.Unavailable, $"model '{_modelName}' is unloading and takes no new requests");
        }
        return new ValueTask<Tensor[]>(pending.Completion.Task);
    }

    private async Task RunWorkerAsync(Worker worker)
    {
        var instance = worker.Instance;
        var reader = _queue.Reader;
        while (true)
        {
            // Waiting, not reading, is what a removal cancels: a request is only taken by TryRead
            // below, so a canceled wait never loses one.
            try
            {
                if (!await reader.WaitToReadAsync(worker.Stop.Token).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            if (worker.Stop.IsCancellationRequested)
            {
                return;
            }
            if (!reader.TryRead(out var pending))
            {
                continue;
            }
            using (pending)
            {
                // A request whose client went away while it waited is dropped without running; its
                // cancellation callback already reported it.
                if (!pending.TryStart())
                {
                    continue;
                }
                var started = _time.GetTimestamp();
                var queued = _time.GetElapsedTime(pending.EnqueuedAt, started);
                try
                {
                    var outputs = instance.Run(pending.Work.Inputs, pending.Work.OutputNames);
                    var ran = _time.GetElapsedTime(started);
                    _observer.BatchExecuted(BatchSize(pending.Work), TimeSpan.Zero, ran, TimeSpan.Zero);
                    // Statistics are recorded before the caller is released, so a client that reads
                    // them after its response already finds its request counted.
                    if (!pending.Completion.Task.IsCompleted)
                    {
                        _observer.RequestSucceeded(queued, TimeSpan.Zero, ran, TimeSpan.Zero);
                    }
                    else
                    {
                        _observer.RequestFailed(SchedulerFailure.Canceled, queued);
                    }
                    if (!pending.Completion.TrySetResult(outputs))
                    {
                        // The client went away while it ran: nobody will take the outputs.
                        foreach (var output in outputs)
                        {
                            output.Dispose();
                        }
                    }
                }
                catch (BackendException e)
                {
                    _observer.RequestFailed(SchedulerFailure.Backend, queued);
                    var kind = e.Code == "INVALID_ARGUMENT" ? InferenceErrorKind.InvalidArgument : InferenceErrorKind.Internal;
                    pending.Completion.TrySetException(new InferenceException(kind, $"model '{_modelName}' failed to run: {e.Message}", e));
                }
                catch (Exception e)
                {
                    _observer.RequestFailed(SchedulerFailure.Other, queued);
                    pending.Completion.TrySetException(new InferenceException(InferenceErrorKind.Internal, $"model '{_modelName}' failed to run: {e.Message}", e));
                }
            }
        }
    }

    private int BatchSize(SchedulerWork work) =>
        _batchDimension && work.Inputs.Count > 0 && work.Inputs[0].Shape.Length > 0 ? (int)work.Inputs[0].Shape[0] : 1;

    /// <summary>Refuses new work, lets every accepted request finish, then releases the instances.</summary>
    public async ValueTask DisposeAsync()
    {
        Worker[] workers;
        lock (_lock)
        {
            _closing = true;
            workers = _workers.ToArray();
        }
        _queue.Writer.TryComplete();
        await Task.WhenAll(workers.Select(w => w.Loop)).ConfigureAwait(false);
        if (Interlocked.Exchange(ref _instancesDisposed, 1) != 0)
        {
            return;
        }
        foreach (var worker in workers)
        {
            worker.Instance.Dispose();
            worker.Stop.Dispose();
        }
    }

    private sealed class Worker(IModelInstance instance)
    {
        public IModelInstance Instance { get; } = instance;

        /// <summary>Canceled when the instance is removed from the pool.</summary>
        public CancellationTokenSource Stop { get; } = new();

        public Task Loop { get; set; } = Task.CompletedTask;
    }

    private sealed class PendingWork : IDisposable
    {
        private const int Waiting = 0;
        private const int Started = 1;
        private const int Canceled = 2;

        private readonly CancellationTokenRegistration _cancellation;
        private readonly OldInstancePoolScheduler _owner;
        private int _state;

        public PendingWork(SchedulerWork work, long enqueuedAt, OldInstancePoolScheduler owner, CancellationToken cancellationToken)
        {
            Work = work;
            EnqueuedAt = enqueuedAt;
            _owner = owner;
            if (cancellationToken.CanBeCanceled)
            {
                _cancellation = cancellationToken.UnsafeRegister(static (state, token) => ((PendingWork)state!).Cancel(token), this);
            }
        }

        public SchedulerWork Work { get; }

        public long EnqueuedAt { get; }

        public TaskCompletionSource<Tensor[]> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Claims the request for a worker; false when its client already went away.</summary>
        public bool TryStart()
        {
            if (Interlocked.CompareExchange(ref _state, Started, Waiting) != Waiting)
            {
                return false;
            }
            _owner._observer.RequestDequeued();
            return true;
        }

        // A waiting request is counted out here; a running one finishes on its instance and the
        // worker reports it (and disposes the outputs nobody takes).
        private void Cancel(CancellationToken token)
        {
            if (Interlocked.CompareExchange(ref _state, Canceled, Waiting) == Waiting)
            {
                _owner._observer.RequestDequeued();
                _owner._observer.RequestFailed(SchedulerFailure.Canceled, _owner._time.GetElapsedTime(EnqueuedAt));
            }
            Completion.TrySetCanceled(token);
        }

        public void Dispose() => _cancellation.Dispose();
    }
}
