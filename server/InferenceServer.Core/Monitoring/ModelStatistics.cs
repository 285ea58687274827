using System.Collections.Concurrent;
using InferenceServer.Core.Scheduling;

namespace InferenceServer.Core.Monitoring;

/// <summary>
/// Everything one loaded model version counts: the statistics extension's numbers and, through
/// <see cref="InferenceMetrics"/>, the Prometheus series. The scheduler reports queueing and
/// executions as its <see cref="ISchedulerObserver"/>; the version reports each request's outcome
/// and end-to-end duration. Recording is lock-free and allocation-free (Interlocked on fields,
/// series resolved once); only the first execution of a new batch size allocates its counters.
/// </summary>
/// <remarks>
/// A failed request is counted once: by the scheduler's <see cref="RequestFailed"/> (which knows
/// the reason) when it failed there, otherwise by <see cref="InferenceFailed"/> with reason OTHER.
/// Its end-to-end duration always comes from <see cref="InferenceFailed"/>.
/// </remarks>
internal sealed class ModelStatistics : ISchedulerObserver, IDisposable
{
    // Batch sizes up to this index live in a flat array; a config with a huge max_batch_size spills
    // the rare larger sizes into a dictionary instead of reserving a huge array.
    private const int MaxDirectBatchSize = 4096;

    private readonly InferenceMetrics? _metrics;
    private readonly ModelSeries? _series;
    private readonly TimeProvider _time;
    private readonly BatchCounters?[] _batches;
    private readonly ConcurrentDictionary<int, BatchCounters> _largeBatches = new();

    private long _pending;
    private long _lastInferenceMs;
    private long _inferenceCount;
    private long _executionCount;
    private long _loadDurationTicks;
    private DurationCounter _success;
    private DurationCounter _fail;
    private DurationCounter _queue;
    private DurationCounter _computeInput;
    private DurationCounter _computeInfer;
    private DurationCounter _computeOutput;

    /// <summary>Statistics for <paramref name="model"/> version <paramref name="version"/>.</summary>
    /// <param name="model">Model name.</param>
    /// <param name="version">Version as the protocols spell it.</param>
    /// <param name="maxBatchSize">The config's max_batch_size (0: the model does not batch).</param>
    /// <param name="metrics">The server's instruments; null records statistics only.</param>
    /// <param name="timeProvider">The clock for <c>last_inference</c>; the system clock when null.</param>
    public ModelStatistics(string model, string version, int maxBatchSize, InferenceMetrics? metrics = null, TimeProvider? timeProvider = null)
    {
        Name = model;
        Version = version;
        _metrics = metrics;
        _series = metrics?.CreateSeries(model, version);
        _time = timeProvider ?? TimeProvider.System;
        _batches = new BatchCounters?[Math.Clamp(maxBatchSize, 1, MaxDirectBatchSize) + 1];
    }

    /// <summary>Model name.</summary>
    public string Name { get; }

    /// <summary>Version as the protocols spell it.</summary>
    public string Version { get; }

    /// <summary>Requests waiting in the scheduler's queue now.</summary>
    public long PendingRequests => Volatile.Read(ref _pending);

    /// <summary>How long loading the version took (0 until <see cref="VersionLoaded"/>).</summary>
    public TimeSpan LoadDuration => TimeSpan.FromTicks(Volatile.Read(ref _loadDurationTicks));

    /// <summary>The version is serving: remembers its load time and shows its series in the metrics.</summary>
    public void VersionLoaded(TimeSpan loadDuration)
    {
        Volatile.Write(ref _loadDurationTicks, loadDuration.Ticks);
        if (_metrics is not null)
        {
            _metrics.VersionLoaded(this, _series!);
        }
    }

    /// <inheritdoc />
    public void RequestQueued() => Interlocked.Increment(ref _pending);

    /// <inheritdoc />
    public void RequestDequeued() => Interlocked.Decrement(ref _pending);

    /// <inheritdoc />
    public void BatchExecuted(int batchSize, TimeSpan computeInput, TimeSpan computeInfer, TimeSpan computeOutput)
    {
        Interlocked.Increment(ref _executionCount);
        var batch = BatchFor(Math.Max(batchSize, 1));
        batch.ComputeInput.Add(Ns(computeInput));
        batch.ComputeInfer.Add(Ns(computeInfer));
        batch.ComputeOutput.Add(Ns(computeOutput));
        _series?.BatchExecuted(batchSize, computeInfer.TotalMicroseconds);
    }

    /// <inheritdoc />
    public void RequestSucceeded(TimeSpan queue, TimeSpan computeInput, TimeSpan computeInfer, TimeSpan computeOutput)
    {
        _queue.Add(Ns(queue));
        _computeInput.Add(Ns(computeInput));
        _computeInfer.Add(Ns(computeInfer));
        _computeOutput.Add(Ns(computeOutput));
        _series?.RequestComputed(queue.TotalMicroseconds, computeInput.TotalMicroseconds, computeInfer.TotalMicroseconds, computeOutput.TotalMicroseconds);
    }

    /// <inheritdoc />
    public void RequestFailed(SchedulerFailure failure, TimeSpan queue)
    {
        // Triton counts queue time for successful requests only; a failure's time is in its end-to-end duration.
        _fail.AddCountOnly();
        _series?.RequestFailed(failure);
    }

    /// <inheritdoc />
    /// <remarks>Metrics only: the statistics extension keeps Triton's schema, which has no rate-limiter field.</remarks>
    public void ResourcesWaited(TimeSpan waited) => _series?.ResourcesWaited(waited.TotalMicroseconds);

    /// <summary>A request finished successfully after <paramref name="duration"/> end to end.</summary>
    /// <param name="inferences">Its batch size (1 for a model that does not batch).</param>
    /// <param name="duration">From the version receiving it to its outputs being ready.</param>
    public void InferenceSucceeded(long inferences, TimeSpan duration)
    {
        _success.Add(Ns(duration));
        Interlocked.Add(ref _inferenceCount, inferences);
        TouchLastInference();
        _series?.RequestSucceeded(inferences, duration.TotalMicroseconds);
    }

    /// <summary>A request failed after <paramref name="duration"/> end to end.</summary>
    /// <param name="duration">From the version receiving it to the failure.</param>
    /// <param name="reportedByScheduler">
    /// True when the scheduler failed it and so has counted it (with its reason) through
    /// <see cref="RequestFailed"/>; false for failures before or after scheduling, counted here as OTHER.
    /// </param>
    public void InferenceFailed(TimeSpan duration, bool reportedByScheduler)
    {
        if (reportedByScheduler)
        {
            _fail.AddDurationOnly(Ns(duration));
        }
        else
        {
            _fail.Add(Ns(duration));
            _series?.RequestFailed(SchedulerFailure.Other);
        }
        TouchLastInference();
    }

    /// <summary>
    /// The precision the version serves when its config asked for a quantized variant (see <see cref="ModelStatisticsSnapshot.Precision"/>);
    /// set by the loader before the version serves.
    /// </summary>
    public string Precision { get; set; } = "";

    /// <summary>Reads every counter for the statistics extension.</summary>
    public ModelStatisticsSnapshot Snapshot()
    {
        var batches = new List<BatchStatistics>();
        for (var size = 1; size < _batches.Length; size++)
        {
            var batch = Volatile.Read(ref _batches[size]);
            if (batch is not null)
            {
                batches.Add(Read(size, batch));
            }
        }
        foreach (var (size, batch) in _largeBatches.OrderBy(b => b.Key))
        {
            batches.Add(Read(size, batch));
        }
        return new ModelStatisticsSnapshot
        {
            Name = Name,
            Version = Version,
            Precision = Precision,
            LastInferenceMs = Volatile.Read(ref _lastInferenceMs),
            InferenceCount = Volatile.Read(ref _inferenceCount),
            ExecutionCount = Volatile.Read(ref _executionCount),
            Success = _success.Read(),
            Fail = _fail.Read(),
            Queue = _queue.Read(),
            ComputeInput = _computeInput.Read(),
            ComputeInfer = _computeInfer.Read(),
            ComputeOutput = _computeOutput.Read(),
            Batches = batches,
        };
    }

    /// <summary>The version unloaded: its gauges leave the metrics.</summary>
    public void Dispose() => _metrics?.VersionUnloaded(this);

    private static BatchStatistics Read(int size, BatchCounters batch) =>
        new(size, batch.ComputeInput.Read(), batch.ComputeInfer.Read(), batch.ComputeOutput.Read());

    private BatchCounters BatchFor(int batchSize)
    {
        if (batchSize >= _batches.Length)
        {
            return _largeBatches.GetOrAdd(batchSize, static _ => new BatchCounters());
        }
        var batch = Volatile.Read(ref _batches[batchSize]);
        if (batch is not null)
        {
            return batch;
        }
        // First execution of this size: publish one set of counters; a racing thread uses the winner's.
        var created = new BatchCounters();
        return Interlocked.CompareExchange(ref _batches[batchSize], created, null) ?? created;
    }

    private void TouchLastInference() => Volatile.Write(ref _lastInferenceMs, _time.GetUtcNow().ToUnixTimeMilliseconds());

    private static long Ns(TimeSpan duration) => duration.Ticks * TimeSpan.NanosecondsPerTick;
}
