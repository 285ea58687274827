using InferenceServer.Core.Backends;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Scheduling;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Benchmarks.Scheduling.Old;

/// <summary>
/// One instance and the dedicated thread that runs its batches. Backends block while they run
/// (native calls), so each instance gets its own thread: a slow batch never holds up another
/// instance, nor the thread pool. The batch arrays are reused from batch to batch.
/// </summary>
internal sealed class OldBatchWorker
{
    private readonly SemaphoreSlim _go = new(0);
    private volatile bool _stopping;

    public OldBatchWorker(IModelInstance instance, int index, int maxBatchSize)
    {
        Instance = instance;
        Index = index;
        Requests = new OldQueuedRequest[maxBatchSize];
        Works = new SchedulerWork[maxBatchSize];
        Results = new Tensor[]?[maxBatchSize];
    }

    public IModelInstance Instance { get; }

    public int Index { get; }

    /// <summary>The batch's requests in batch order; the first <see cref="Count"/> are set while it runs.</summary>
    public OldQueuedRequest[] Requests { get; }

    /// <summary>The same requests' work, as the assembler wants it.</summary>
    public SchedulerWork[] Works { get; }

    /// <summary>Per-request outputs the scatter fills.</summary>
    public Tensor[]?[] Results { get; }

    /// <summary>The assembled inputs handed to the instance, sized to the model's input count.</summary>
    public Tensor[] Inputs { get; set; } = [];

    public int Count { get; set; }

    /// <summary>Sum of the batch dimensions of <see cref="Requests"/>.</summary>
    public int TotalSize { get; set; }

    /// <summary>Set (under the scheduler's lock) when the instance is being removed: after its current batch it leaves instead of going idle.</summary>
    public bool Retiring { get; set; }

    /// <summary>Chains workers a drain pass started, to wake them outside the lock.</summary>
    public OldBatchWorker? NextStarted { get; set; }

    public Task Exited => _exited.Task;

    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Start(string name, Action<OldBatchWorker> loop)
    {
        var thread = new Thread(static state =>
        {
            var (worker, body) = ((OldBatchWorker, Action<OldBatchWorker>))state!;
            try
            {
                body(worker);
            }
            finally
            {
                worker._exited.TrySetResult();
            }
        })
        {
            IsBackground = true,
            Name = name,
        };
        thread.UnsafeStart((this, loop));
    }

    /// <summary>Blocks the worker's thread until it has a batch (true) or must stop (false).</summary>
    public bool WaitForBatch()
    {
        _go.Wait();
        return !_stopping;
    }

    /// <summary>Hands the batch now in <see cref="Requests"/> to the thread.</summary>
    public void Run() => _go.Release();

    /// <summary>Lets an idle worker's thread end.</summary>
    public void Stop()
    {
        _stopping = true;
        _go.Release();
    }
}
