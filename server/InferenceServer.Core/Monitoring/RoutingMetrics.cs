using System.Collections.Concurrent;
using InferenceServer.Core.Routing;
using Prometheus;

namespace InferenceServer.Core.Monitoring;

/// <summary>
/// The per-route, per-variant Prometheus metrics: requests, failures, a latency histogram (the buckets of the per-model
/// latency histograms) and the weight each variant has now. One per server, in the server's own registry; a route's
/// series are resolved once when its <see cref="RouteRuntime"/> is created, so recording touches no label lookup.
/// </summary>
/// <remarks>
/// Counters and histograms are cumulative and stay when a route goes (as a model's do when it is unloaded); a changed
/// declaration resolves the same series again by their labels. The weight gauge shows only the routes that serve now:
/// it is refreshed from the live runtimes before each scrape, keyed by labels, so a route replaced by a changed
/// declaration of the same name keeps its series while the old runtime is retired.
/// </remarks>
internal sealed class RoutingMetrics
{
    /// <summary>The label naming the route (the name clients address).</summary>
    public const string Route = "route";

    /// <summary>The label naming the variant.</summary>
    public const string Variant = "variant";

    private static readonly string[] Labels = [Route, Variant];

    private readonly ConcurrentDictionary<RouteRuntime, byte> _live = new();
    private readonly Lock _gaugeLock = new();
    private readonly Gauge _weight;

    /// <summary>Creates the metrics in <paramref name="registry"/> (the server's own, never the process-wide default).</summary>
    public RoutingMetrics(CollectorRegistry registry)
    {
        var factory = Metrics.WithCustomRegistry(registry);
        // As for the per-model series: exemplars appear only in OpenMetrics, which this endpoint does not serve.
        factory.ExemplarBehavior = ExemplarBehavior.NoExemplars();
        Requests = factory.CreateCounter("inference_server_route_requests_total",
            "Requests a route sent to each variant, answered or failed (a request the client cancelled is not counted)",
            new CounterConfiguration { LabelNames = Labels, SuppressInitialValue = true });
        Failures = factory.CreateCounter("inference_server_route_failures_total",
            "Requests a route sent to each variant that failed",
            new CounterConfiguration { LabelNames = Labels, SuppressInitialValue = true });
        Duration = factory.CreateHistogram("inference_server_route_request_duration_us",
            "Histogram of the durations of the successful requests a route sent to each variant, in microseconds",
            new HistogramConfiguration { LabelNames = Labels, Buckets = InferenceMetrics.LatencyBucketsUs, SuppressInitialValue = true });
        _weight = factory.CreateGauge("inference_server_route_variant_weight",
            "The weight each variant of a route has now (relative to the route's other weights)",
            new GaugeConfiguration { LabelNames = Labels });
        registry.AddBeforeCollectCallback(UpdateWeights);
    }

    internal Counter Requests { get; }

    internal Counter Failures { get; }

    internal Histogram Duration { get; }

    /// <summary>The series of <paramref name="runtime"/>'s variants, published (at zero) at once so dashboards see every variant.</summary>
    internal RouteSeries CreateSeries(RouteRuntime runtime)
    {
        var series = new RouteSeries(this, runtime.Name, runtime.VariantNames);
        series.Publish();
        return series;
    }

    /// <summary>Shows the weights of <paramref name="runtime"/> from the next scrape on.</summary>
    internal void Track(RouteRuntime runtime) => _live[runtime] = 0;

    /// <summary>The route is gone: its weights go at the next scrape (its counters stay, being cumulative).</summary>
    internal void Untrack(RouteRuntime runtime) => _live.TryRemove(runtime, out _);

    // Runs before every scrape (possibly several at once).
    private void UpdateWeights()
    {
        lock (_gaugeLock)
        {
            var live = new HashSet<(string, string)>();
            foreach (var runtime in _live.Keys)
            {
                var weights = runtime.Weights.Current;
                var names = runtime.VariantNames;
                for (var i = 0; i < names.Count; i++)
                {
                    live.Add((runtime.Name, names[i]));
                    _weight.WithLabels(runtime.Name, names[i]).Set(weights[i]);
                }
            }
            foreach (var labels in _weight.GetAllLabelValues())
            {
                if (!live.Contains((labels[0], labels[1])))
                {
                    _weight.RemoveLabelled(labels);
                }
            }
        }
    }
}
