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
    private int _instancesDisposed;

    /// <summary>Starts one worker per instance; the scheduler owns the instances from now on.</summary>
    public InstancePoolScheduler(string modelName, IReadOnlyList<IModelInstance> instances)
    {
        ArgumentOutOfRangeException.ThrowIfZero(instances.Count);
        _modelName = modelName;
        _instances = instances;
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
        var pending = new PendingWork(work, cancellationToken);
        if (!_queue.Writer.TryWrite(pending))
        {
            pending.Dispose();
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
                // A request whose client went away while it waited is dropped without running.
                if (pending.Completion.Task.IsCompleted)
                {
                    continue;
                }
                try
                {
                    var outputs = instance.Run(pending.Work.Inputs, pending.Work.OutputNames);
                    if (!pending.Completion.TrySetResult(outputs))
                    {
                        foreach (var output in outputs)
                        {
                            output.Dispose();
                        }
                    }
                }
                catch (BackendException e)
                {
                    var kind = e.Code == "INVALID_ARGUMENT" ? InferenceErrorKind.InvalidArgument : InferenceErrorKind.Internal;
                    pending.Completion.TrySetException(new InferenceException(kind, $"model '{_modelName}' failed to run: {e.Message}", e));
                }
                catch (Exception e)
                {
                    pending.Completion.TrySetException(new InferenceException(InferenceErrorKind.Internal, $"model '{_modelName}' failed to run: {e.Message}", e));
                }
            }
        }
    }

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

        public PendingWork(SchedulerWork work, CancellationToken cancellationToken)
        {
            Work = work;
            if (cancellationToken.CanBeCanceled)
            {
                _cancellation = cancellationToken.UnsafeRegister(
                    static (state, token) => ((TaskCompletionSource<Tensor[]>)state!).TrySetCanceled(token), Completion);
            }
        }

        public SchedulerWork Work { get; }

        public TaskCompletionSource<Tensor[]> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Dispose() => _cancellation.Dispose();
    }
}
