using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using InferenceServer.Core.Scheduling;

namespace InferenceServer.Core.Monitoring;

/// <summary>
/// The per-model instruments, named as Triton names its Prometheus metrics so that existing
/// dashboards work unchanged, plus a few histograms of our own. One per server (it comes from the
/// server's <see cref="IMeterFactory"/>); every <see cref="ModelStatistics"/> records through it.
/// </summary>
/// <remarks>
/// As in Kestrel's metrics, each recording method checks <see cref="Instrument.Enabled"/> and
/// records in a separate non-inlined method, so a server nobody listens to pays one branch per call.
/// The flag is read from the instrument rather than cached per model version because a version
/// lives far longer than a listener's subscription may take to arrive.
/// </remarks>
public sealed class InferenceMetrics
{
    /// <summary>The meter's name; the Prometheus exposition listens to this meter.</summary>
    public const string MeterName = "InferenceServer";

    /// <summary>Bucket bounds (µs) of the latency histograms: 100 µs to 10 s.</summary>
    internal static readonly double[] LatencyBucketsUs =
        [100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000];

    /// <summary>Bucket bounds of the batch-size histogram: powers of two up to 1024.</summary>
    internal static readonly long[] BatchSizeBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

    private readonly Counter<long> _requestSuccess;
    private readonly Counter<long> _requestFailure;
    private readonly Counter<long> _inferenceCount;
    private readonly Counter<long> _executionCount;
    private readonly Counter<double> _requestDuration;
    private readonly Counter<double> _queueDuration;
    private readonly Counter<double> _computeInputDuration;
    private readonly Counter<double> _computeInferDuration;
    private readonly Counter<double> _computeOutputDuration;
    private readonly Histogram<double> _requestHistogram;
    private readonly Histogram<double> _queueHistogram;
    private readonly Histogram<double> _computeInferHistogram;
    private readonly Histogram<long> _batchSizeHistogram;

    // The versions currently loaded, for the observable gauges; touched only on load, unload and scrape.
    private readonly ConcurrentDictionary<ModelStatistics, byte> _live = new();

    /// <summary>Creates the meter and its instruments.</summary>
    public InferenceMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _requestSuccess = meter.CreateCounter<long>("nv_inference_request_success", description: "Number of successful inference requests, all batch sizes");
        _requestFailure = meter.CreateCounter<long>("nv_inference_request_failure", description: "Number of failed inference requests, all batch sizes");
        _inferenceCount = meter.CreateCounter<long>("nv_inference_count", description: "Number of inferences performed (a request counts as its batch size)");
        _executionCount = meter.CreateCounter<long>("nv_inference_exec_count", description: "Number of model executions performed");
        _requestDuration = meter.CreateCounter<double>("nv_inference_request_duration_us", unit: "us",
            description: "Cumulative duration of successful inference requests in microseconds");
        _queueDuration = meter.CreateCounter<double>("nv_inference_queue_duration_us", unit: "us",
            description: "Cumulative time successful requests waited in the queue in microseconds");
        _computeInputDuration = meter.CreateCounter<double>("nv_inference_compute_input_duration_us", unit: "us",
            description: "Cumulative compute input duration in microseconds");
        _computeInferDuration = meter.CreateCounter<double>("nv_inference_compute_infer_duration_us", unit: "us",
            description: "Cumulative compute inference duration in microseconds");
        _computeOutputDuration = meter.CreateCounter<double>("nv_inference_compute_output_duration_us", unit: "us",
            description: "Cumulative compute output duration in microseconds");
        meter.CreateObservableGauge("nv_inference_pending_request_count", ObservePending,
            description: "Instantaneous number of pending requests awaiting execution per-model");
        meter.CreateObservableGauge("nv_model_load_duration_secs", ObserveLoadDuration, unit: "s",
            description: "Model load time in seconds");

        var latencyAdvice = new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBucketsUs };
        _requestHistogram = meter.CreateHistogram("nv_inference_request_histogram_us", unit: "us",
            description: "Histogram of successful inference request durations in microseconds", tags: null, advice: latencyAdvice);
        _queueHistogram = meter.CreateHistogram("nv_inference_queue_histogram_us", unit: "us",
            description: "Histogram of the time successful requests waited in the queue in microseconds", tags: null, advice: latencyAdvice);
        _computeInferHistogram = meter.CreateHistogram("nv_inference_compute_infer_histogram_us", unit: "us",
            description: "Histogram of model execution (compute infer) durations in microseconds, one per execution", tags: null, advice: latencyAdvice);
        _batchSizeHistogram = meter.CreateHistogram("nv_inference_batch_size_histogram", unit: null,
            description: "Histogram of the batch size of each model execution", tags: null,
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = BatchSizeBuckets });
    }

    /// <summary>A version loaded: its gauges appear and its counters show zero until its first request, as Triton's do.</summary>
    internal void VersionLoaded(ModelStatistics statistics)
    {
        _live[statistics] = 0;
        if (_requestSuccess.Enabled)
        {
            VersionLoadedCore(statistics.Tags);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void VersionLoadedCore(ModelMetricTags tags)
    {
        _requestSuccess.Add(0, tags.Base);
        foreach (var reason in Enum.GetValues<SchedulerFailure>())
        {
            _requestFailure.Add(0, tags.Failure(reason));
        }
        _inferenceCount.Add(0, tags.Base);
        _executionCount.Add(0, tags.Base);
        _requestDuration.Add(0, tags.Base);
        _queueDuration.Add(0, tags.Base);
        _computeInputDuration.Add(0, tags.Base);
        _computeInferDuration.Add(0, tags.Base);
        _computeOutputDuration.Add(0, tags.Base);
    }

    /// <summary>A version unloaded: its gauges go away (its counters stay, being cumulative).</summary>
    internal void VersionUnloaded(ModelStatistics statistics) => _live.TryRemove(statistics, out _);

    internal void RequestSucceeded(ModelMetricTags tags, long inferences, double durationUs)
    {
        if (_requestSuccess.Enabled)
        {
            RequestSucceededCore(tags, inferences, durationUs);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RequestSucceededCore(ModelMetricTags tags, long inferences, double durationUs)
    {
        _requestSuccess.Add(1, tags.Base);
        _inferenceCount.Add(inferences, tags.Base);
        _requestDuration.Add(durationUs, tags.Base);
        _requestHistogram.Record(durationUs, tags.Base);
    }

    internal void RequestFailed(ModelMetricTags tags, SchedulerFailure reason)
    {
        if (_requestFailure.Enabled)
        {
            RequestFailedCore(tags, reason);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RequestFailedCore(ModelMetricTags tags, SchedulerFailure reason) => _requestFailure.Add(1, tags.Failure(reason));

    internal void RequestComputed(ModelMetricTags tags, double queueUs, double computeInputUs, double computeInferUs, double computeOutputUs)
    {
        if (_queueDuration.Enabled)
        {
            RequestComputedCore(tags, queueUs, computeInputUs, computeInferUs, computeOutputUs);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RequestComputedCore(ModelMetricTags tags, double queueUs, double computeInputUs, double computeInferUs, double computeOutputUs)
    {
        _queueDuration.Add(queueUs, tags.Base);
        _computeInputDuration.Add(computeInputUs, tags.Base);
        _computeInferDuration.Add(computeInferUs, tags.Base);
        _computeOutputDuration.Add(computeOutputUs, tags.Base);
        _queueHistogram.Record(queueUs, tags.Base);
    }

    internal void BatchExecuted(ModelMetricTags tags, int batchSize, double computeInferUs)
    {
        if (_executionCount.Enabled)
        {
            BatchExecutedCore(tags, batchSize, computeInferUs);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void BatchExecutedCore(ModelMetricTags tags, int batchSize, double computeInferUs)
    {
        _executionCount.Add(1, tags.Base);
        _batchSizeHistogram.Record(batchSize, tags.Base);
        _computeInferHistogram.Record(computeInferUs, tags.Base);
    }

    private IEnumerable<Measurement<long>> ObservePending()
    {
        foreach (var statistics in _live.Keys)
        {
            yield return new Measurement<long>(statistics.PendingRequests, statistics.Tags.Base);
        }
    }

    private IEnumerable<Measurement<double>> ObserveLoadDuration()
    {
        foreach (var statistics in _live.Keys)
        {
            yield return new Measurement<double>(statistics.LoadDuration.TotalSeconds, statistics.Tags.Base);
        }
    }
}
