using System.Collections.Concurrent;
using InferenceServer.Core.Routing;
using Prometheus;

namespace InferenceServer.Core.Monitoring;

/// <summary>
/// The per-route, per-variant Prometheus metrics: requests, failures, a latency histogram (the buckets of the per-model
/// latency histograms) and the weight each variant has now; the shadow's copies and disagreement, the rollout's step,
/// share, state, promotions and rollbacks, and the experiment's outcomes and conversions. One per server, in the server's own registry; a route's
/// series are resolved once when its <see cref="RouteRuntime"/> is created, so recording touches no label lookup.
/// </summary>
/// <remarks>
/// Counters and histograms are cumulative and stay when a route goes (as a model's do when it is unloaded); a changed
/// declaration resolves the same series again by their labels. The weight gauge shows only the routes that serve now:
/// it is refreshed from the live runtimes before each scrape, keyed by labels, so a route replaced by a changed
/// declaration of the same name keeps its series while the old runtime is retired. The shadow, rollout and experiment
/// keep their own counts, from zero in each runtime: before each scrape the counters get what each live runtime counted
/// since the previous scrape (and a runtime that goes gives its last counts as it goes), so they stay cumulative across
/// declarations; their gauges, like the weights, show only the live runtimes.
/// </remarks>
internal sealed class RoutingMetrics
{
    /// <summary>The label naming the route (the name clients address).</summary>
    public const string Route = "route";

    /// <summary>The label naming the variant.</summary>
    public const string Variant = "variant";

    /// <summary>The label naming a compared output of the shadow.</summary>
    public const string Output = "output";

    /// <summary>The label naming a rollout state.</summary>
    public const string State = "state";

    private static readonly string[] Labels = [Route, Variant];

    // The states as the metric (and the rollout API) names them, by the state's value.
    private static readonly string[] StateNames = ["progressing", "paused", "promoted", "rolled_back", "aborted"];

    private readonly ConcurrentDictionary<RouteRuntime, RoutePublished> _live = new();
    private readonly Lock _gaugeLock = new();
    private readonly Gauge _weight;
    private readonly Counter _shadowSampled;
    private readonly Counter _shadowCompared;
    private readonly Counter _shadowDropped;
    private readonly Counter _shadowFailed;
    private readonly Counter _shadowDecisions;
    private readonly Counter _shadowFlips;
    private readonly Gauge _shadowDifference;
    private readonly Gauge _rolloutPercent;
    private readonly Gauge _rolloutStep;
    private readonly Gauge _rolloutState;
    private readonly Counter _rolloutPromotions;
    private readonly Counter _rolloutRollbacks;
    private readonly Counter _outcomes;
    private readonly Counter _conversions;

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
        Counter Count(string name, string help) =>
            factory.CreateCounter(name, help, new CounterConfiguration { LabelNames = Labels, SuppressInitialValue = true });
        Gauge Level(string name, string help, params string[] labels) =>
            factory.CreateGauge(name, help, new GaugeConfiguration { LabelNames = labels });
        _shadowSampled = Count("inference_server_route_shadow_sampled_total", "Requests of a route whose copy was picked for its shadow variant");
        _shadowCompared = Count("inference_server_route_shadow_compared_total", "Shadow answers compared with the primary's answer");
        _shadowDropped = Count("inference_server_route_shadow_dropped_total",
            "Shadow copies dropped unrun: the shadow queue was full, or the route changed first");
        _shadowFailed = Count("inference_server_route_shadow_failed_total", "Shadow copies the shadow variant failed (the client never sees these)");
        _shadowDecisions = Count("inference_server_route_shadow_decisions_total", "Decision values compared between the primary and the shadow");
        _shadowFlips = Count("inference_server_route_shadow_flips_total", "Decisions the shadow took differently from the primary");
        _shadowDifference = Level("inference_server_route_shadow_mean_abs_difference",
            "Mean absolute difference per element between the shadow's and the primary's output, since the route was declared",
            Route, Variant, Output);
        _rolloutPercent = Level("inference_server_route_rollout_canary_percent", "The share of a route's traffic its rollout gives the canary now, in per cent",
            Route, Variant);
        _rolloutStep = Level("inference_server_route_rollout_step", "The rollout's current step, from 1 (0 before the first, when declared to start paused)",
            Route, Variant);
        _rolloutState = Level("inference_server_route_rollout_state",
            "1 for the state the rollout is in (progressing, paused, promoted, rolled_back, aborted), 0 for the others", Route, Variant, State);
        _rolloutPromotions = Count("inference_server_route_rollout_promotions_total", "Steps the rollout promoted the canary, by its gates or an operator");
        _rolloutRollbacks = Count("inference_server_route_rollout_rollbacks_total", "Rollouts a failing gate ended by taking all traffic off the canary");
        _outcomes = Count("inference_server_route_outcomes_total", "Outcomes joined by feedback to the requests each variant of an experiment answered");
        _conversions = Count("inference_server_route_conversions_total", "Of those outcomes, the positive ones (conversions)");
        registry.AddBeforeCollectCallback(Update);
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
    internal void Track(RouteRuntime runtime) => _live[runtime] = new RoutePublished(runtime.VariantNames.Count);

    /// <summary>
    /// The route is gone: what its shadow, rollout and experiment counted since the last scrape is added now, and its
    /// gauges go at the next scrape (its counters stay, being cumulative).
    /// </summary>
    internal void Untrack(RouteRuntime runtime)
    {
        lock (_gaugeLock)
        {
            if (_live.TryRemove(runtime, out var published))
            {
                PublishCounts(runtime, published);
            }
        }
    }

    // Runs before every scrape (possibly several at once).
    private void Update()
    {
        lock (_gaugeLock)
        {
            var live = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (runtime, published) in _live)
            {
                var weights = runtime.Weights.Current;
                var names = runtime.VariantNames;
                for (var i = 0; i < names.Count; i++)
                {
                    _weight.WithLabels(runtime.Name, names[i]).Set(weights[i]);
                }
                live.Add(runtime.Name);
                PublishCounts(runtime, published);
                PublishLevels(runtime);
            }
            RemoveGone(_weight, live);
            RemoveGone(_shadowDifference, live);
            RemoveGone(_rolloutPercent, live);
            RemoveGone(_rolloutStep, live);
            RemoveGone(_rolloutState, live);
        }
    }

    // A gauge shows only the routes that serve now (the route is every gauge's first label).
    private static void RemoveGone(Gauge gauge, HashSet<string> live)
    {
        foreach (var labels in gauge.GetAllLabelValues())
        {
            if (!live.Contains(labels[0]))
            {
                gauge.RemoveLabelled(labels);
            }
        }
    }

    // Under the gauge lock: adds what the runtime counted since the last time.
    private void PublishCounts(RouteRuntime runtime, RoutePublished published)
    {
        var route = runtime.Name;
        if (runtime.Shadow is { } shadow)
        {
            var variant = runtime.VariantNames[runtime.ShadowIndex];
            var now = shadow.Snapshot();
            Add(_shadowSampled, route, variant, now.Sampled, ref published.Sampled);
            Add(_shadowCompared, route, variant, now.Compared, ref published.Compared);
            Add(_shadowDropped, route, variant, now.Dropped, ref published.Dropped);
            Add(_shadowFailed, route, variant, now.Failed, ref published.Failed);
            Add(_shadowDecisions, route, variant, now.Decisions, ref published.Decisions);
            Add(_shadowFlips, route, variant, now.Flips, ref published.Flips);
        }
        if (runtime.Rollout is { } rollout)
        {
            var canary = runtime.Declaration.Config.Rollout.Canary;
            Add(_rolloutPromotions, route, canary, rollout.Promotions, ref published.Promotions);
            Add(_rolloutRollbacks, route, canary, rollout.Rollbacks, ref published.Rollbacks);
        }
        if (runtime.Outcomes is { } outcomes)
        {
            var totals = outcomes.Snapshot();
            for (var i = 0; i < totals.Length; i++)
            {
                var variant = runtime.VariantNames[i];
                Add(_outcomes, route, variant, totals[i].Outcomes, ref published.Outcomes[i]);
                Add(_conversions, route, variant, totals[i].Conversions, ref published.Conversions[i]);
            }
        }
    }

    private static void Add(Counter counter, string route, string variant, long now, ref long published)
    {
        var child = counter.WithLabels(route, variant);
        if (now > published)
        {
            child.Inc(now - published);
            published = now;
        }
        else
        {
            // Shows the series at zero from the route's first scrape, as the request counters are.
            child.Publish();
        }
    }

    private void PublishLevels(RouteRuntime runtime)
    {
        var route = runtime.Name;
        if (runtime.Shadow is { } shadow)
        {
            var variant = runtime.VariantNames[runtime.ShadowIndex];
            foreach (var output in shadow.Snapshot().Outputs)
            {
                _shadowDifference.WithLabels(route, variant, output.Output).Set(output.MeanAbsoluteDifference);
            }
        }
        if (runtime.Rollout is { } rollout)
        {
            var status = rollout.Status();
            var canary = runtime.Declaration.Config.Rollout.Canary;
            _rolloutPercent.WithLabels(route, canary).Set(status.CanaryPercent);
            _rolloutStep.WithLabels(route, canary).Set(status.Step);
            for (var state = 0; state < StateNames.Length; state++)
            {
                _rolloutState.WithLabels(route, canary, StateNames[state]).Set((int)status.State == state ? 1 : 0);
            }
        }
    }
}
