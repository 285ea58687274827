using System.Threading.Channels;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Scheduling;

/// <summary>
/// Triton's default scheduler: no batching across requests; each instance runs one request at a
/// time, and an idle instance takes the next request from one shared FIFO queue. A slow request
/// on one instance never holds up another instance.
/// </summary>
public sealed class InstancePoolScheduler : IScheduler
{
    private readonly Channel<PendingWork> _queue = Channel.CreateUnbounded<PendingWork>(
        new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });
    private readonly IReadOnlyList<IModelInstance> _instances;
    private readonly Task[] _workers;
    private readonly string _modelName;
    private readonly ISchedulerObserver _observer;
    private readonly bool _batchDimension;
    private readonly TimeProvider _time = TimeProvider.System;
    private int _instancesDisposed;

    /// <summary>Starts one worker per instance; the scheduler owns the instances from now on.</summary>
    /// <param name="modelName">For error messages.</param>
    /// <param name="instances">The instances to run requests on.</param>
    /// <param name="observer">Told about queueing, executions and outcomes (statistics and metrics).</param>
    /// <param name="batchDimension">True when the model batches (max_batch_size &gt; 0): a request then counts as its first dimension.</param>
    public InstancePoolScheduler(string modelName, IReadOnlyList<IModelInstance> instances, ISchedulerObserver? observer = null, bool batchDimension = false)
    {
        ArgumentOutOfRangeException.ThrowIfZero(instances.Count);
        _modelName = modelName;
        _instances = instances;
        _observer = observer ?? NullSchedulerObserver.Instance;
        _batchDimension = batchDimension;
        _workers = new Task[instances.Count];
        for (var i = 0; i < instances.Count; i++)
        {
            var instance = instances[i];
            _workers[i] = Task.Run(() => RunWorkerAsync(instance));
        }
    }

    /// <inheritdoc />
    public ValueTask<Tensor[]> ScheduleAsync(SchedulerWork work, CancellationToken cancellationToken)
    {
        var pending = new PendingWork(work, cancellationToken, _time.GetTimestamp());
        _observer.RequestQueued();
        if (!_queue.Writer.TryWrite(pending))
        {
            pending.Dispose();
            _observer.RequestDequeued();
            _observer.RequestFailed(SchedulerFailure.Other, TimeSpan.Zero);
            throw new InferenceException(InferenceErrorKind.Unavailable, $"model '{_modelName}' is unloading and takes no new requests");
        }
        return new ValueTask<Tensor[]>(pending.Completion.Task);
    }

    private async Task RunWorkerAsync(IModelInstance instance)
    {
        await foreach (var pending in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            using (pending)
            {
                _observer.RequestDequeued();
                var queue = _time.GetElapsedTime(pending.EnqueuedAt);
                // A request whose client went away while it waited is dropped without running.
                if (pending.Completion.Task.IsCompleted)
                {
                    _observer.RequestFailed(SchedulerFailure.Canceled, queue);
                    continue;
                }
                try
                {
                    // The backend binds inputs, runs and copies outputs in one call, so all of it counts as compute_infer.
                    var started = _time.GetTimestamp();
                    var outputs = instance.Run(pending.Work.Inputs, pending.Work.OutputNames);
                    var infer = _time.GetElapsedTime(started);
                    // Reported before completing, so the statistics already hold a request when its caller sees the response.
                    _observer.BatchExecuted(BatchSize(pending.Work), TimeSpan.Zero, infer, TimeSpan.Zero);
                    _observer.RequestSucceeded(queue, TimeSpan.Zero, infer, TimeSpan.Zero);
                    if (!pending.Completion.TrySetResult(outputs))
                    {
                        // The client went away while it ran: its compute counts, and it counts as cancelled.
                        _observer.RequestFailed(SchedulerFailure.Canceled, queue);
                        foreach (var output in outputs)
                        {
                            output.Dispose();
                        }
                    }
                }
                catch (BackendException e)
                {
                    var kind = e.Code == "INVALID_ARGUMENT" ? InferenceErrorKind.InvalidArgument : InferenceErrorKind.Internal;
                    Fail(pending, new InferenceException(kind, $"model '{_modelName}' failed to run: {e.Message}", e), SchedulerFailure.Backend, queue);
                }
                catch (Exception e)
                {
                    Fail(pending, new InferenceException(InferenceErrorKind.Internal, $"model '{_modelName}' failed to run: {e.Message}", e), SchedulerFailure.Other, queue);
                }
            }
        }
    }

    // Reported before completing, like success; a request cancelled while it ran counts as cancelled.
    private void Fail(PendingWork pending, InferenceException error, SchedulerFailure failure, TimeSpan queue)
    {
        _observer.RequestFailed(pending.Completion.Task.IsCompleted ? SchedulerFailure.Canceled : failure, queue);
        pending.Completion.TrySetException(error);
    }

    private int BatchSize(SchedulerWork work) =>
        _batchDimension && work.Inputs.Count > 0 && work.Inputs[0].Shape.Length > 0 ? (int)work.Inputs[0].Shape[0] : 1;

    /// <summary>Refuses new work, lets every accepted request finish, then releases the instances.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await Task.WhenAll(_workers).ConfigureAwait(false);
        // A second DisposeAsync (a model unloaded, then the manager shut down) must not release native sessions twice.
        if (Interlocked.Exchange(ref _instancesDisposed, 1) != 0)
        {
            return;
        }
        foreach (var instance in _instances)
        {
            instance.Dispose();
        }
    }

    private sealed class PendingWork : IDisposable
    {
        private readonly CancellationTokenRegistration _cancellation;

        public PendingWork(SchedulerWork work, CancellationToken cancellationToken, long enqueuedAt)
        {
            Work = work;
            EnqueuedAt = enqueuedAt;
            if (cancellationToken.CanBeCanceled)
            {
                _cancellation = cancellationToken.UnsafeRegister(
                    static (state, token) => ((TaskCompletionSource<Tensor[]>)state!).TrySetCanceled(token), Completion);
            }
        }

        public SchedulerWork Work { get; }

        public long EnqueuedAt { get; }

        public TaskCompletionSource<Tensor[]> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Dispose() => _cancellation.Dispose();
    }
}
