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
/// mirror's own bounded queue (not a scheduler's), and one drain at a time takes copies from it, so whatever the route's
/// load the shadow adds at most one request at a time to the shadow model's scheduler (copies that wait together share
/// that request where the shadow takes batches: see <see cref="ShadowBatch"/>). A copy runs at the shadow model's
/// default priority and queue timeout, never the primary's: the primary's priority was the client's choice for its own
/// request, and a copy that carried it could overtake real requests where the shadow variant also serves traffic (a
/// canary that is shadowed while it rolls out). A model's lowest level belongs to the shadow model's config, which can
/// change while the route stays; the run delegate, which resolves the shadow's target, may lower the copy's priority to it.
/// </para>
/// <para>
/// Why copies gather for <see cref="GatherWindow"/> and nothing wakes per copy: measured on a busy route, what a copy
/// cost the server was not the shadow model's run nor the copying but the threads each run wakes (the drain, the shadow
/// model's instance thread, the continuation after its answer), each of which spins a while before it sleeps again: a
/// few hundred µs of CPU per run however few rows it holds. So the first copy to find the mirror idle only arms one
/// timer, and the copies of the next <see cref="GatherWindow"/> run together; a full run's worth of copies (or half the
/// queue) starts the drain at once, so a burst never waits to be dropped. A shadow that does not take batches gains
/// nothing from waiting: its copies start the drain as they come. A shadow that cannot keep up drops copies, and the
/// drops are counted: the comparison covers the configured share only while it keeps up.
/// </para>
/// </remarks>
internal sealed partial class ShadowMirror : IAsyncDisposable, IThreadPoolWorkItem
{
    /// <summary>The most copies one batched run takes, however many rows the shadow would take: bounds the work one run holds up.</summary>
    public const int MaxCopiesPerRun = 128;

    /// <summary>How long copies gather before a run where the shadow takes batches (a shadow's answer is never awaited by anyone).</summary>
    public static readonly TimeSpan GatherWindow = TimeSpan.FromMilliseconds(50);

    // A shadow that is down fails every copy; one line per interval says so without flooding the log.
    private static readonly TimeSpan FailureReportInterval = TimeSpan.FromSeconds(10);

    // The drain's states: no copy waits; copies wait for the gather timer; one drain runs them; the mirror stopped.
    private const int Idle = 0;
    private const int Gathering = 1;
    private const int Draining = 2;
    private const int Stopped = 3;

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
    private readonly ITimer _gatherTimer;
    // Completed by a drain that finds the mirror stopped when it ends, for the disposal that waits on it.
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<ShadowOutputDifference> _differences = [];
    private readonly List<ShadowCopy> _batch = [];
    // The rows of each copy in _batch, found once when it joined.
    private readonly List<int> _rowsPerCopy = [];
    private int _state;
    // Copies queued that start the drain at once: a full run, as the last drain found the shadow's batch size; 1 without batches.
    private int _startAt;
    private long _nextFailureReport = long.MinValue;
    private long _unreportedFailures;
    private int _disposed;

    /// <param name="config">The route's shadow declaration, defaults filled in (percent, queue capacity, decision output and threshold).</param>
    /// <param name="runShadow">
    /// Runs a copy on the shadow variant and returns its answer, which the mirror disposes. The request is the mirror's:
    /// the delegate must not dispose it. It carries the primary's model name (the route's), id, inputs, requested outputs
    /// and parameters; the token is cancelled when the mirror stops.
    /// </param>
    /// <param name="time">The clock of the gather window and of the failure reports' spacing.</param>
    /// <param name="logger">Where the shadow's failures are reported, at most one line per ten seconds.</param>
    /// <param name="batchRows">
    /// The most rows the shadow variant takes in one request (its max_batch_size), asked each time a drain starts a run;
    /// 0, or no delegate, runs every copy alone, as it comes. See <see cref="ShadowBatch"/>.
    /// </param>
    public ShadowMirror(ShadowTraffic config, Func<InferenceRequest, CancellationToken, Task<InferenceResponse>> runShadow, TimeProvider time,
        ILogger logger, Func<int>? batchRows = null)
    {
        _config = config;
        _runShadow = runShadow;
        _batchRows = batchRows;
        _time = time;
        _logger = logger;
        _share = config.Percent / 100;
        _capacity = (int)Math.Clamp(config.QueueCapacity, 1u, int.MaxValue);
        _reportInterval = (long)(FailureReportInterval.TotalSeconds * time.TimestampFrequency);
        // Until a drain has asked, a shadow that may batch is taken to: a copy then waits one window at most.
        _startAt = batchRows is null ? 1 : StartAt(MaxCopiesPerRun);
        // Wait, not DropWrite: only a TryWrite that fails tells the writer to count the drop and release the copy.
        _queue = Channel.CreateBounded<ShadowCopy>(new BoundedChannelOptions(_capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        // The drains outlive the request that happened to create the mirror: they must not carry its context (trace).
        using (ExecutionContext.SuppressFlow())
        {
            _gatherTimer = time.CreateTimer(static state => ((ShadowMirror)state!).Gathered(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
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
            return new ShadowCopy(this, CopyRequest(request, CopyUnpinned));
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
    /// Stops the mirror: copies still queued are dropped unrun, a shadow request in flight is cancelled, every copy is
    /// released; a copy sent afterwards is dropped and released at once. Completes when the drain has stopped.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        // Cancelled first, so a drain drops what is left in the queue instead of starting it.
        await _stopping.CancelAsync().ConfigureAwait(false);
        _queue.Writer.TryComplete();
        _gatherTimer.Dispose();
        // No drain starts once the state is Stopped; one that runs now ends by completing _drained.
        if (Interlocked.Exchange(ref _state, Stopped) == Draining)
        {
            await _drained.Task.ConfigureAwait(false);
        }
        // Whatever was queued before the writer completed (the drain left it, or none was running).
        while (_queue.Reader.TryRead(out var copy))
        {
            _counters.Dropped();
            copy.Release();
        }
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
                Arrived();
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

    // On the primary's thread, after its copy was queued: at most an interlocked exchange and, once per run, arming the
    // timer or handing the drain to the thread pool; never the drain itself, which is the shadow's work.
    private void Arrived()
    {
        var state = Volatile.Read(ref _state);
        if (state == Draining || state == Stopped)
        {
            // The drain takes what is queued when its run ends; a stopped mirror releases it.
            return;
        }
        if (_queue.Reader.Count >= Volatile.Read(ref _startAt))
        {
            if (Interlocked.CompareExchange(ref _state, Draining, state) == state)
            {
                // Gathering: the timer may still fire; it finds the state taken and does nothing.
                ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
            }
            return;
        }
        if (state == Idle && Interlocked.CompareExchange(ref _state, Gathering, Idle) == Idle)
        {
            _gatherTimer.Change(GatherWindow, Timeout.InfiniteTimeSpan);
        }
    }

    // The gather window ended (the timer's thread-pool thread): unless an early start came first, this thread drains.
    private void Gathered()
    {
        if (Interlocked.CompareExchange(ref _state, Draining, Gathering) == Gathering)
        {
            _ = DrainAsync();
        }
    }

    /// <summary>An early start, queued by <see cref="Arrived"/> so that the primary's thread never runs the shadow.</summary>
    void IThreadPoolWorkItem.Execute() => _ = DrainAsync();

    // The one drain (the state is Draining): runs what is queued, a run's worth at a time, while full runs wait; copies that
    // do not make a full run wait for the next window. Never throws: every copy it takes is counted and released.
    private async Task DrainAsync()
    {
        var reader = _queue.Reader;
        ShadowCopy? next = null;
        try
        {
            do
            {
                var limit = BatchRows();
                Volatile.Write(ref _startAt, StartAt(limit));
                if (next is null && !reader.TryRead(out next))
                {
                    break;
                }
                next = await RunNextAsync(reader, next, limit).ConfigureAwait(false);
            }
            // A copy the last run could not take starts the next one, and a full run's worth does not wait for a window.
            while (next is not null || reader.Count >= Volatile.Read(ref _startAt));
        }
        catch (Exception exception)
        {
            // A defect of the drain itself: counted and reported; the copies it held were released where they were taken.
            Failed(exception);
        }
        if (next is not null)
        {
            _counters.Dropped();
            next.Release();
        }
        if (Interlocked.CompareExchange(ref _state, Idle, Draining) != Draining)
        {
            // Stopped while this drain ran: the disposal, waiting, releases what is left.
            _drained.TrySetResult();
            return;
        }
        // A copy queued while the state was Draining found nothing to do: it starts the next window now.
        if (reader.Count > 0)
        {
            Arrived();
        }
    }

    // Runs `first` with what may join it; returns the first waiting copy that could not join (it starts the next run).
    private async Task<ShadowCopy?> RunNextAsync(ChannelReader<ShadowCopy> reader, ShadowCopy first, int limit)
    {
        var rows = limit > 1 ? ShadowBatch.Rows(first.Request) : 0;
        if (rows == 0 || rows >= limit)
        {
            await RunAsync(first, _differences).ConfigureAwait(false);
            return null;
        }
        ShadowCopy? next = null;
        // What else waits joins the run while it fits; the first copy that does not starts the next run.
        _batch.Add(first);
        _rowsPerCopy.Add(rows);
        while (_batch.Count < MaxCopiesPerRun && reader.TryRead(out var waiting))
        {
            var more = ShadowBatch.Fits(first.Request, waiting.Request) ? ShadowBatch.Rows(waiting.Request) : 0;
            if (more == 0 || rows + more > limit)
            {
                next = waiting;
                break;
            }
            _batch.Add(waiting);
            _rowsPerCopy.Add(more);
            rows += more;
        }
        try
        {
            if (_batch.Count == 1)
            {
                await RunAsync(first, _differences).ConfigureAwait(false);
            }
            else
            {
                await RunBatchAsync(_batch, _rowsPerCopy, rows, _differences).ConfigureAwait(false);
            }
        }
        finally
        {
            _batch.Clear();
            _rowsPerCopy.Clear();
        }
        return next;
    }

    // The copies queued that start a drain at once: a full run (at most half the queue, so a burst starts it before the
    // queue fills); 1 for a shadow without batches, whose copies gain nothing from waiting.
    private int StartAt(int batchRows) => batchRows > 1 ? Math.Clamp(Math.Min(batchRows, MaxCopiesPerRun), 1, Math.Max(1, _capacity / 2)) : 1;

    private int BatchRows()
    {
        try
        {
            return _batchRows?.Invoke() ?? 0;
        }
        catch (Exception exception)
        {
            // Asking must not stop the drain: the copies run one by one, and the run itself will say what is wrong.
            LogBatchRowsUnknown(_config.Variant, exception);
            return 0;
        }
    }

    // The copies of `batch` (more than one) as one request; each is compared with its own rows of the answer, and each
    // is counted (compared, failed or dropped) as when it runs alone.
    private async Task RunBatchAsync(List<ShadowCopy> batch, List<int> perCopy, int rows, List<ShadowOutputDifference> differences)
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
            using var merged = ShadowBatch.Merge(batch, rows);
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
                // Each copy is compared with its rows where they lie in the answer: cutting them out first cost a copy,
                // a tensor and a buffer per copy and output, for bytes read once.
                var outputs = response.Outputs;
                var bounds = new int[outputs.Length][];
                for (var o = 0; o < outputs.Length; o++)
                {
                    bounds[o] = new int[perCopy.Count + 1];
                    ShadowBatch.SliceBounds(outputs[o], perCopy, bounds[o]);
                }
                differences.Clear();
                var compared = 0;
                for (var i = 0; i < batch.Count; i++)
                {
                    var mark = differences.Count;
                    try
                    {
                        ShadowComparer.Compare(batch[i].PrimaryOutputs, outputs, bounds, i, perCopy[i], _config.DecisionOutput, _config.DecisionThreshold,
                            differences);
                        compared++;
                    }
                    catch (Exception exception)
                    {
                        // This copy's outputs only: the others of the run are still compared and counted.
                        differences.RemoveRange(mark, differences.Count - mark);
                        Failed(exception);
                    }
                }
                // One lock for the run's answers, not one per copy.
                _counters.Compared(differences, compared);
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
            // The queued copy's buffers are unpinned (see CopyUnpinned); what a backend reads must be in the aligned pool.
            using var request = CopyRequest(copy.Request, CopyAligned);
            try
            {
                response = await _runShadow(request, _stopping.Token).ConfigureAwait(false);
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
            // The shadow's failure, or a comparison that broke: counted, and the drain goes on with the next copy.
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

    private static InferenceRequest CopyRequest(InferenceRequest request, Func<Tensor, Tensor> copyTensor)
    {
        // Not the primary's priority or timeout: the copy runs at the shadow model's defaults (see the remarks).
        var copy = new InferenceRequest { ModelName = request.ModelName, Id = request.Id };
        try
        {
            foreach (var input in request.Inputs)
            {
                copy.Inputs.Add(copyTensor(input));
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
                copies[i] = CopyUnpinned(tensors[i]);
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

    // What waits in the queue is read only by the mirror (stacked into a run, or copied once more for a run alone, and
    // compared), never by a backend: it need not be pinned nor aligned, and the aligned pool, which keeps a bounded number of
    // arrays a size, would hand a busy shadow's hundreds of waiting copies new arrays on the pinned object heap (see
    // Tensor.CopyUnpinned).
    // The shape too: the primary's owner may reshape its tensor (a rename) while the copy waits.
    private static Tensor CopyUnpinned(Tensor tensor) => Tensor.CopyUnpinned(tensor.Name, tensor.DataType, (long[])tensor.Shape.Clone(), tensor.Data);

    private static Tensor CopyAligned(Tensor tensor) => Tensor.Copy(tensor.Name, tensor.DataType, (long[])tensor.Shape.Clone(), tensor.Data);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Shadow variant '{Variant}': its batch size could not be read; its copies run one by one")]
    private partial void LogBatchRowsUnknown(string variant, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Shadow variant '{Variant}' failed {Failures} time(s) since the last report, most recently: {Reason}. The primary's answers are unaffected")]
    private partial void LogShadowFailed(string variant, long failures, string reason, Exception? exception);
}
