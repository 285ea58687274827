using System.Threading.Channels;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Routing.Config;
using InferenceServer.Core.Tensors;
using Microsoft.Extensions.Logging;

namespace InferenceServer.Core.Routing.Shadow;

/// <summary>
/// Shadow traffic for one route: a share of its requests is copied, run on the shadow variant off the caller's path, and
/// the shadow's answer compared with the primary's and then thrown away. The caller asks <see cref="Sample"/> before the
/// primary runs and ends the <see cref="ShadowCopy"/> it may get once the primary has answered (or failed); nothing the
/// shadow does reaches the caller: its failures, slowness and a full queue are counted, never thrown.
/// </summary>
/// <remarks>
/// <para>
/// Why the shadow cannot take the primary's capacity first: a copy is queued only once its primary has answered, in the
/// mirror's own bounded queue (not a scheduler's), and only <c>workers</c> runs are in flight at a time (copies that wait
/// together share one run where the shadow takes batches: see <see cref="ShadowBatch"/>), so whatever the route's load
/// the shadow adds at most that many requests to the shadow model's scheduler. A copy runs at the shadow model's
/// default priority and queue timeout, never the primary's: the primary's priority was the client's choice for its own
/// request, and a copy that carried it could overtake real requests where the shadow variant also serves traffic (a
/// canary that is shadowed while it rolls out). A model's lowest level belongs to the shadow model's config, which can
/// change while the route stays; the run delegate, which resolves the shadow's target, may lower the copy's priority to it.
/// </para>
/// <para>
/// Why <see cref="DefaultWorkers"/> (two) workers: the shadow shares the machine with the primary, so the number of
/// shadow requests in flight is the most the shadow can take from the primary at any moment. One worker leaves the
/// shadow model idle while it compares and releases between runs; two keep one request running while the other finishes,
/// and a burst of copies still waits in the queue instead of becoming a burst of shadow inferences. A shadow that cannot
/// keep up drops copies, and the drops are counted: the comparison covers the configured share only while it keeps up.
/// </para>
/// </remarks>
internal sealed partial class ShadowMirror : IAsyncDisposable
{
    /// <summary>Shadow requests in flight at once unless the constructor is told otherwise (see the remarks).</summary>
    public const int DefaultWorkers = 2;

    /// <summary>The most copies one batched run takes, however many rows the shadow would take: bounds the work one run holds up.</summary>
    public const int MaxCopiesPerRun = 64;

    /// <summary>How long a worker that could batch lets copies gather before a run (a shadow's answer is never awaited by anyone).</summary>
    public static readonly TimeSpan GatherWindow = TimeSpan.FromMilliseconds(2);

    // A shadow that is down fails every copy; one line per interval says so without flooding the log.
    private static readonly TimeSpan FailureReportInterval = TimeSpan.FromSeconds(10);

    private readonly ShadowTraffic _config;
    private readonly Func<InferenceRequest, CancellationToken, Task<InferenceResponse>> _runShadow;
    private readonly Func<int>? _batchRows;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly double _share;
    private readonly int _capacity;
    private readonly long _reportInterval;
    private readonly Channel<ShadowCopy> _queue;
    private readonly ShadowCounters _counters = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task[] _workers;
    private long _nextFailureReport = long.MinValue;
    private long _unreportedFailures;
    private int _disposed;

    /// <param name="config">The route's shadow declaration, defaults filled in (percent, queue capacity, decision output and threshold).</param>
    /// <param name="runShadow">
    /// Runs a copy on the shadow variant and returns its answer, which the mirror disposes. The request is the mirror's:
    /// the delegate must not dispose it. It carries the primary's model name (the route's), id, inputs, requested outputs
    /// and parameters; the token is cancelled when the mirror stops.
    /// </param>
    /// <param name="time">The clock that spaces out the failure reports.</param>
    /// <param name="logger">Where the shadow's failures are reported, at most one line per ten seconds.</param>
    /// <param name="workers">Shadow requests in flight at once, at least 1.</param>
    /// <param name="batchRows">
    /// The most rows the shadow variant takes in one request (its max_batch_size), asked each time a worker starts a run;
    /// 0, or no delegate, runs every copy alone. See <see cref="ShadowBatch"/>.
    /// </param>
    public ShadowMirror(ShadowTraffic config, Func<InferenceRequest, CancellationToken, Task<InferenceResponse>> runShadow, TimeProvider time,
        ILogger logger, int workers = DefaultWorkers, Func<int>? batchRows = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        _config = config;
        _runShadow = runShadow;
        _batchRows = batchRows;
        _time = time;
        _logger = logger;
        _share = config.Percent / 100;
        _capacity = (int)Math.Clamp(config.QueueCapacity, 1u, int.MaxValue);
        _reportInterval = (long)(FailureReportInterval.TotalSeconds * time.TimestampFrequency);
        // Wait, not DropWrite: only a TryWrite that fails tells the writer to count the drop and release the copy.
        _queue = Channel.CreateBounded<ShadowCopy>(new BoundedChannelOptions(_capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = workers == 1,
        });
        _workers = new Task[workers];
        // The workers outlive the request that happened to create the mirror: they must not carry its context (trace).
        using (ExecutionContext.SuppressFlow())
        {
            for (var i = 0; i < workers; i++)
            {
                _workers[i] = Task.Run(RunWorkerAsync);
            }
        }
    }

    /// <summary>The declaration the mirror follows.</summary>
    public ShadowTraffic Config => _config;

    /// <summary>
    /// Decides whether <paramref name="request"/> is shadowed (config percent); when it is, copies its inputs, requested
    /// outputs, id and parameters (the copy owns its pooled buffers) and returns the copy, which the caller must end
    /// with <see cref="ShadowCopy.Send"/> or <see cref="ShadowCopy.Cancel"/>. Null when not sampled, when the queue is
    /// already full (a drop, counted) and once the mirror has stopped. Allocates nothing when not sampled; never throws.
    /// </summary>
    public ShadowCopy? Sample(InferenceRequest request)
    {
        // Random.Shared keeps its state per thread: no lock and no allocation on the path of every request.
        if (_share < 1 && Random.Shared.NextDouble() >= _share)
        {
            return null;
        }
        if (Volatile.Read(ref _disposed) != 0)
        {
            return null;
        }
        _counters.Sampled();
        // Copying inputs the queue has no room for only adds work to a loaded server.
        if (_queue.Reader.Count >= _capacity)
        {
            _counters.Dropped();
            return null;
        }
        try
        {
            return new ShadowCopy(this, CopyRequest(request));
        }
        catch (Exception exception)
        {
            Failed(exception);
            return null;
        }
    }

    /// <summary>The cumulative counts and per-output disagreement since the mirror started.</summary>
    public ShadowSnapshot Snapshot() => _counters.Snapshot(_queue.Reader.Count);

    /// <summary>The cumulative decisions compared and flips among them, read together (for a rollout's disagreement gate).</summary>
    public (long Decisions, long Flips) DecisionCounts() => _counters.DecisionCounts();

    /// <summary>
    /// Stops the mirror: copies still queued are dropped unrun, shadow requests in flight are cancelled, every copy is
    /// released; a copy sent afterwards is dropped and released at once. Completes when the workers have stopped.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        // Cancelled first, so the workers drop what is left in the queue instead of starting it.
        await _stopping.CancelAsync().ConfigureAwait(false);
        _queue.Writer.TryComplete();
        await Task.WhenAll(_workers).ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>From <see cref="ShadowCopy.Send"/>: copies the primary's outputs and queues the copy, or drops it.</summary>
    internal void Enqueue(ShadowCopy copy, InferenceResponse primary)
    {
        if (Volatile.Read(ref _disposed) == 0 && _queue.Reader.Count < _capacity)
        {
            try
            {
                copy.Attach(CopyTensors(primary.Outputs));
            }
            catch (Exception exception)
            {
                copy.Release();
                Failed(exception);
                return;
            }
            // False when full (another sender came first) or once the mirror stopped.
            if (_queue.Writer.TryWrite(copy))
            {
                _counters.Enqueued();
                return;
            }
        }
        _counters.Dropped();
        copy.Release();
    }

    /// <summary>From <see cref="ShadowCopy.Cancel"/>.</summary>
    internal void Canceled(ShadowCopy copy)
    {
        _counters.Canceled();
        copy.Release();
    }

    private async Task RunWorkerAsync()
    {
        var differences = new List<ShadowOutputDifference>();
        var batch = new List<ShadowCopy>();
        var reader = _queue.Reader;
        // No token: the loop ends when the queue is completed and empty, so every queued copy is released.
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            ShadowCopy? next = null;
            while (next is not null || reader.TryRead(out next))
            {
                var copy = next;
                next = null;
                var limit = BatchRows();
                var rows = limit > 1 ? ShadowBatch.Rows(copy.Request) : 0;
                if (rows == 0 || rows >= limit)
                {
                    await RunAsync(copy, differences).ConfigureAwait(false);
                    continue;
                }
                // A busy route's copies arrive microseconds apart: a moment's wait gathers them into one run, where taking
                // each as it comes would wake this worker, and the shadow model, once per copy on the primary's cores.
                if (reader.Count < MaxCopiesPerRun - 1)
                {
                    await Task.Delay(GatherWindow, _time).ConfigureAwait(false);
                }
                // What else waits joins the run while it fits; the first copy that does not starts the next run.
                batch.Add(copy);
                while (batch.Count < MaxCopiesPerRun && reader.TryRead(out var waiting))
                {
                    var more = ShadowBatch.Fits(copy.Request, waiting.Request) ? ShadowBatch.Rows(waiting.Request) : 0;
                    if (more == 0 || rows + more > limit)
                    {
                        next = waiting;
                        break;
                    }
                    batch.Add(waiting);
                    rows += more;
                }
                if (batch.Count == 1)
                {
                    await RunAsync(copy, differences).ConfigureAwait(false);
                }
                else
                {
                    await RunBatchAsync(batch, rows, differences).ConfigureAwait(false);
                }
                batch.Clear();
            }
        }
    }

    private int BatchRows()
    {
        try
        {
            return _batchRows?.Invoke() ?? 0;
        }
        catch (Exception exception)
        {
            // Asking must not stop the worker: the copies run one by one, and the run itself will say what is wrong.
            LogBatchRowsUnknown(_config.Variant, exception);
            return 0;
        }
    }

    // The copies of `batch` (more than one) as one request; each is compared with its own slice of the answer, and each
    // is counted (compared, failed or dropped) as when it runs alone.
    private async Task RunBatchAsync(List<ShadowCopy> batch, int rows, List<ShadowOutputDifference> differences)
    {
        try
        {
            if (_stopping.IsCancellationRequested)
            {
                foreach (var _ in batch)
                {
                    _counters.Dropped();
                }
                return;
            }
            Tensor[][] slices;
            using (var merged = ShadowBatch.Merge(batch, rows))
            {
                InferenceResponse response;
                try
                {
                    response = await _runShadow(merged, _stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
                {
                    foreach (var _ in batch)
                    {
                        _counters.Dropped();
                    }
                    return;
                }
                using (response)
                {
                    var perCopy = new int[batch.Count];
                    for (var i = 0; i < perCopy.Length; i++)
                    {
                        perCopy[i] = ShadowBatch.Rows(batch[i].Request);
                    }
                    slices = ShadowBatch.Split(response.Outputs, perCopy);
                }
            }
            for (var i = 0; i < batch.Count; i++)
            {
                try
                {
                    differences.Clear();
                    ShadowComparer.Compare(batch[i].PrimaryOutputs, slices[i], _config.DecisionOutput, _config.DecisionThreshold, differences);
                    _counters.Compared(differences);
                }
                catch (Exception exception)
                {
                    Failed(exception);
                }
                finally
                {
                    foreach (var slice in slices[i])
                    {
                        slice.Dispose();
                    }
                }
            }
        }
        catch (Exception exception)
        {
            // The shadow's failure (or an answer that cannot be cut) fails every copy of the run, each counted; nothing was compared yet.
            foreach (var _ in batch)
            {
                Failed(exception);
            }
        }
        finally
        {
            foreach (var copy in batch)
            {
                copy.Release();
            }
        }
    }

    private async Task RunAsync(ShadowCopy copy, List<ShadowOutputDifference> differences)
    {
        try
        {
            if (_stopping.IsCancellationRequested)
            {
                _counters.Dropped();
                return;
            }
            InferenceResponse response;
            try
            {
                response = await _runShadow(copy.Request, _stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                _counters.Dropped();
                return;
            }
            using (response)
            {
                differences.Clear();
                ShadowComparer.Compare(copy.PrimaryOutputs, response.Outputs, _config.DecisionOutput, _config.DecisionThreshold, differences);
            }
            _counters.Compared(differences);
        }
        catch (Exception exception)
        {
            // The shadow's failure, or a comparison that broke: counted, and the worker goes on with the next copy.
            Failed(exception);
        }
        finally
        {
            copy.Release();
        }
    }

    private void Failed(Exception exception)
    {
        Interlocked.Increment(ref _unreportedFailures);
        var now = _time.GetTimestamp();
        var due = Interlocked.Read(ref _nextFailureReport);
        if (now >= due && Interlocked.CompareExchange(ref _nextFailureReport, now + _reportInterval, due) == due)
        {
            var failures = Interlocked.Exchange(ref _unreportedFailures, 0);
            // A refusal names its reason; anything else is a defect worth its stack.
            LogShadowFailed(_config.Variant, failures, exception.Message, exception is InferenceException ? null : exception);
        }
        // Counted after the report, so whoever sees the count sees the report too.
        _counters.Failed();
    }

    private static InferenceRequest CopyRequest(InferenceRequest request)
    {
        // Not the primary's priority or timeout: the copy runs at the shadow model's defaults (see the remarks).
        var copy = new InferenceRequest { ModelName = request.ModelName, Id = request.Id };
        try
        {
            foreach (var input in request.Inputs)
            {
                copy.Inputs.Add(CopyTensor(input));
            }
        }
        catch
        {
            copy.Dispose();
            throw;
        }
        copy.RequestedOutputs.AddRange(request.RequestedOutputs);
        if (request.Parameters is { } parameters)
        {
            foreach (var (name, value) in parameters)
            {
                copy.SetParameter(name, value);
            }
        }
        return copy;
    }

    private static Tensor[] CopyTensors(Tensor[] tensors)
    {
        var copies = new Tensor[tensors.Length];
        try
        {
            for (var i = 0; i < tensors.Length; i++)
            {
                copies[i] = CopyTensor(tensors[i]);
            }
        }
        catch
        {
            foreach (var copy in copies)
            {
                copy?.Dispose();
            }
            throw;
        }
        return copies;
    }

    // The shape too: the primary's owner may reshape its tensor (a rename) while the copy waits.
    private static Tensor CopyTensor(Tensor tensor) => Tensor.Copy(tensor.Name, tensor.DataType, (long[])tensor.Shape.Clone(), tensor.Data);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Shadow variant '{Variant}': its batch size could not be read; its copies run one by one")]
    private partial void LogBatchRowsUnknown(string variant, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Shadow variant '{Variant}' failed {Failures} time(s) since the last report, most recently: {Reason}. The primary's answers are unaffected")]
    private partial void LogShadowFailed(string variant, long failures, string reason, Exception? exception);
}
