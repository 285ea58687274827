using System.Collections.Concurrent;
using InferenceServer.Core.Features;
using Prometheus;

namespace InferenceServer.Core.Monitoring;

/// <summary>
/// The feature stage's Prometheus metrics: requests that asked a feature view for their inputs, by view and outcome;
/// the duration of the store lookups through the sidecar; and whether the server is connected to the sidecar. One per
/// server, in the server's own registry; a view's series are resolved on first use and kept, so recording does no
/// label lookup after that.
/// </summary>
internal sealed class FeatureMetrics
{
    /// <summary>Bucket bounds (µs) of the lookup histogram: a lookup over a Unix socket takes tens of microseconds, a slow store up to its timeout.</summary>
    internal static readonly double[] LookupBucketsUs = [25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 100_000, 1_000_000];

    private static readonly string[] OutcomeNames = ["ok", "invalid", "entity_not_found", "store_defaults", "unavailable"];

    private readonly Counter _requests;
    private readonly Histogram _lookups;
    private readonly Gauge _connected;
    private readonly ConcurrentDictionary<(string View, FeatureOutcome Outcome), Counter.Child> _requestSeries = new();
    private readonly ConcurrentDictionary<string, Histogram.Child> _lookupSeries = new(StringComparer.Ordinal);

    /// <summary>Creates the metrics in <paramref name="registry"/> (the server's own, never the process-wide default).</summary>
    public FeatureMetrics(CollectorRegistry registry)
    {
        var factory = Metrics.WithCustomRegistry(registry);
        factory.ExemplarBehavior = ExemplarBehavior.NoExemplars();
        _requests = factory.CreateCounter("inference_server_feature_requests_total",
            "Requests whose inputs a feature view made, by view and outcome (ok, invalid, entity_not_found, store_defaults, unavailable)",
            new CounterConfiguration { LabelNames = ["view", "outcome"], SuppressInitialValue = true });
        _lookups = factory.CreateHistogram("inference_server_feature_lookup_duration_us",
            "Histogram of the durations of online-store lookups through the feature sidecar, answered or failed, in microseconds",
            new HistogramConfiguration { LabelNames = ["view"], Buckets = LookupBucketsUs, SuppressInitialValue = true });
        _connected = factory.CreateGauge("inference_server_feature_sidecar_connected",
            "1 while the server has a connection to the feature sidecar, else 0 (absent without --feature-sidecar)",
            new GaugeConfiguration { SuppressInitialValue = true });
    }

    /// <summary>Counts one request of <paramref name="view"/> that ended as <paramref name="outcome"/>.</summary>
    public void Count(string view, FeatureOutcome outcome) =>
        _requestSeries.GetOrAdd((view, outcome), static (key, counter) => counter.WithLabels(key.View, OutcomeNames[(int)key.Outcome]), _requests).Inc();

    /// <summary>Records one lookup of <paramref name="view"/> that took <paramref name="elapsed"/>.</summary>
    public void Lookup(string view, TimeSpan elapsed) =>
        _lookupSeries.GetOrAdd(view, static (name, histogram) => histogram.WithLabels(name), _lookups).Observe(elapsed.TotalMicroseconds);

    /// <summary>The sidecar connections now up: the gauge shows whether there is one.</summary>
    public void SidecarConnections(int connected) => _connected.Set(connected > 0 ? 1 : 0);
}
