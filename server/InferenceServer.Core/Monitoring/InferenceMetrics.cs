using System.Collections.Concurrent;
using Prometheus;

namespace InferenceServer.Core.Monitoring;

/// <summary>
/// The per-model Prometheus metrics, named, typed and labelled as Triton's so that existing
/// dashboards work unchanged, plus a few histograms of our own. One per server, in the server's own
/// <see cref="CollectorRegistry"/>; every <see cref="ModelStatistics"/> records through the
/// <see cref="ModelSeries"/> it gets here.
/// </summary>
/// <remarks>
/// The instruments are prometheus-net's own rather than <c>System.Diagnostics.Metrics</c> instruments
/// exported through its MeterAdapter: the adapter prefixes the meter's name, exposes counters as
/// gauges and drops series idle for five minutes, all of which break Triton's names and types. A
/// version's series are resolved once when it is created, so recording is a few interlocked adds on
/// fields, with no label lookup and no allocation.
/// </remarks>
internal sealed class InferenceMetrics
{
    /// <summary>Bucket bounds (µs) of the latency histograms: 100 µs to 10 s.</summary>
    internal static readonly double[] LatencyBucketsUs =
        [100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000];

    /// <summary>Bucket bounds of the batch-size histogram: powers of two up to 1024.</summary>
    internal static readonly double[] BatchSizeBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

    private static readonly string[] BaseLabels = [ModelSeries.Model, ModelSeries.Version];

    // The versions currently loaded, for the gauges; touched only on load, unload and scrape.
    private readonly ConcurrentDictionary<ModelStatistics, byte> _live = new();
    private readonly Lock _gaugeLock = new();
    private readonly Gauge _pending;
    private readonly Gauge _loadDuration;

    /// <summary>Creates the metrics in <paramref name="registry"/> (the server's own, never the process-wide default).</summary>
    public InferenceMetrics(CollectorRegistry registry)
    {
        var factory = Metrics.WithCustomRegistry(registry);
        // prometheus-net would otherwise record an exemplar from the request's trace context on every increment, though
        // exemplars appear only in OpenMetrics, which this endpoint does not serve (Triton's is the Prometheus text format).
        factory.ExemplarBehavior = ExemplarBehavior.NoExemplars();
        RequestSuccess = Counter(factory, "nv_inference_request_success", "Number of successful inference requests, all batch sizes");
        RequestFailure = factory.CreateCounter("nv_inference_request_failure", "Number of failed inference requests, all batch sizes",
            new CounterConfiguration { LabelNames = [ModelSeries.Model, ModelSeries.Reason, ModelSeries.Version], SuppressInitialValue = true });
        InferenceCount = Counter(factory, "nv_inference_count", "Number of inferences performed (a request counts as its batch size)");
        ExecutionCount = Counter(factory, "nv_inference_exec_count", "Number of model executions performed");
        RequestDuration = Counter(factory, "nv_inference_request_duration_us", "Cumulative duration of successful inference requests in microseconds");
        QueueDuration = Counter(factory, "nv_inference_queue_duration_us", "Cumulative time successful requests waited in the queue in microseconds");
        ComputeInputDuration = Counter(factory, "nv_inference_compute_input_duration_us", "Cumulative compute input duration in microseconds");
        ComputeInferDuration = Counter(factory, "nv_inference_compute_infer_duration_us", "Cumulative compute inference duration in microseconds");
        ComputeOutputDuration = Counter(factory, "nv_inference_compute_output_duration_us", "Cumulative compute output duration in microseconds");
        _pending = factory.CreateGauge("nv_inference_pending_request_count", "Instantaneous number of pending requests awaiting execution per-model",
            new GaugeConfiguration { LabelNames = BaseLabels });
        _loadDuration = factory.CreateGauge("nv_model_load_duration_secs", "Model load time in seconds",
            new GaugeConfiguration { LabelNames = BaseLabels });
        RequestHistogram = Histogram(factory, "nv_inference_request_histogram_us",
            "Histogram of successful inference request durations in microseconds", LatencyBucketsUs);
        QueueHistogram = Histogram(factory, "nv_inference_queue_histogram_us",
            "Histogram of the time successful requests waited in the queue in microseconds", LatencyBucketsUs);
        ComputeInferHistogram = Histogram(factory, "nv_inference_compute_infer_histogram_us",
            "Histogram of model execution (compute infer) durations in microseconds, one per execution", LatencyBucketsUs);
        BatchSizeHistogram = Histogram(factory, "nv_inference_batch_size_histogram", "Histogram of the batch size of each model execution", BatchSizeBuckets);
        // Ours, not Triton's (it has no rate-limiter metric): how long a model's instances waited in the rate limiter's
        // line for their resources while requests were queued for them. A model starved by others shows a wait that
        // grows about as fast as the clock, per waiting instance.
        ResourceWaitDuration = Counter(factory, "nv_inference_resource_wait_duration_us",
            "Cumulative time the model's instances waited for rate limiter resources while requests were queued, in microseconds (--rate-limit execution_count)");
        ResourceWaitCount = Counter(factory, "nv_inference_resource_wait_count",
            "Number of times one of the model's instances had to wait for rate limiter resources before it could execute (--rate-limit execution_count)");
        registry.AddBeforeCollectCallback(UpdateGauges);
    }

    internal Counter RequestSuccess { get; }

    internal Counter RequestFailure { get; }

    internal Counter InferenceCount { get; }

    internal Counter ExecutionCount { get; }

    internal Counter RequestDuration { get; }

    internal Counter QueueDuration { get; }

    internal Counter ComputeInputDuration { get; }

    internal Counter ComputeInferDuration { get; }

    internal Counter ComputeOutputDuration { get; }

    internal Histogram RequestHistogram { get; }

    internal Histogram QueueHistogram { get; }

    internal Histogram ComputeInferHistogram { get; }

    internal Histogram BatchSizeHistogram { get; }

    internal Counter ResourceWaitDuration { get; }

    internal Counter ResourceWaitCount { get; }

    /// <summary>The series of one version, unpublished until <see cref="VersionLoaded"/>.</summary>
    internal ModelSeries CreateSeries(string model, string version) => new(this, model, version);

    /// <summary>A version loaded: its gauges appear and its counters show zero until its first request, as Triton's do.</summary>
    internal void VersionLoaded(ModelStatistics statistics, ModelSeries series)
    {
        _live[statistics] = 0;
        series.Publish();
    }

    /// <summary>A version unloaded: its gauges go at the next scrape (its counters stay, being cumulative).</summary>
    internal void VersionUnloaded(ModelStatistics statistics) => _live.TryRemove(statistics, out _);

    private static Counter Counter(MetricFactory factory, string name, string help) =>
        factory.CreateCounter(name, help, new CounterConfiguration { LabelNames = BaseLabels, SuppressInitialValue = true });

    private static Histogram Histogram(MetricFactory factory, string name, string help, double[] buckets) =>
        factory.CreateHistogram(name, help, new HistogramConfiguration { LabelNames = BaseLabels, Buckets = buckets, SuppressInitialValue = true });

    // Runs before every scrape (possibly several at once): the gauges show the loaded versions' current values, and a
    // series whose version is gone is removed. Keyed by labels rather than by statistics object, so a version reloaded
    // under the same number keeps its series while the old object is retired.
    private void UpdateGauges()
    {
        lock (_gaugeLock)
        {
            var live = new HashSet<(string, string)>();
            foreach (var statistics in _live.Keys)
            {
                live.Add((statistics.Name, statistics.Version));
                _pending.WithLabels(statistics.Name, statistics.Version).Set(statistics.PendingRequests);
                _loadDuration.WithLabels(statistics.Name, statistics.Version).Set(statistics.LoadDuration.TotalSeconds);
            }
            RemoveUnloaded(_pending, live);
            RemoveUnloaded(_loadDuration, live);
        }
    }

    private static void RemoveUnloaded(Gauge gauge, HashSet<(string, string)> live)
    {
        foreach (var labels in gauge.GetAllLabelValues())
        {
            if (!live.Contains((labels[0], labels[1])))
            {
                gauge.RemoveLabelled(labels);
            }
        }
    }
}
