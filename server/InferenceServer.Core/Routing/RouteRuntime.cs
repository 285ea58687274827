using InferenceServer.Core.Inference;
using InferenceServer.Core.Monitoring;
using InferenceServer.Core.Routing.Experiments;
using InferenceServer.Core.Routing.Rollouts;
using InferenceServer.Core.Routing.Shadow;
using Microsoft.Extensions.Logging;

namespace InferenceServer.Core.Routing;

/// <summary>
/// What a route keeps while it lives, as opposed to its <see cref="TrafficRoute"/>, which every route table rebuilds:
/// the variants' weights now, their metrics, and whatever else must outlive a table swap. One object per route name,
/// kept by <see cref="RouteTable.Build"/> while the declaration is <see cref="RouteDeclaration.SameAs"/> the one it was
/// made for (a model reloading under the route changes nothing here), disposed when the route goes or is declared anew.
/// </summary>
internal sealed class RouteRuntime : IDisposable
{
    private readonly RoutingMetrics _metrics;
    private readonly RouteSeries _series;
    private readonly long[] _weighted;
    private readonly string? _predictionOutput;
    private int _disposed;

    public RouteRuntime(RouteDeclaration declaration, RouteServices services)
    {
        var metrics = services.Metrics;
        Declaration = declaration;
        var variants = declaration.Config.Variant;
        var names = new string[variants.Count];
        var weights = new uint[variants.Count];
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = variants[i].Name;
            weights[i] = variants[i].Weight;
        }
        VariantNames = names;
        Weights = new RouteWeights(weights);
        // Header names are case-insensitive in HTTP and lower case in gRPC metadata: one spelling serves both.
        VariantHeader = declaration.Config.VariantHeader.ToLowerInvariant();
        GivesRequestIds = declaration.Config.Experiment is not null;
        _weighted = new long[names.Length];
        var config = declaration.Config;
        if (config.Experiment is { } experiment)
        {
            Outcomes = new OutcomeLog(names.Length, experiment);
            _predictionOutput = experiment.PredictionOutput.Length > 0 ? experiment.PredictionOutput : null;
        }
        if (config.Shadow is { } shadow)
        {
            ShadowIndex = declaration.VariantIndex(shadow.Variant);
            Shadow = new ShadowMirror(shadow, (request, cancellationToken) => services.ShadowRunner(this, request, cancellationToken), services.Time,
                services.Loggers.CreateLogger<ShadowMirror>(), batchRows: () => services.ShadowBatchRows(this));
        }
        if (config.Rollout is { } rollout)
        {
            var canary = declaration.VariantIndex(rollout.Canary);
            var baseline = declaration.VariantIndex(rollout.Baseline);
            // The flip gate judges the canary's disagreement only when the canary is the shadow being compared.
            var decisions = Shadow is { } mirror && ShadowIndex == canary ? mirror.DecisionCounts : (Func<(long, long)>?)null;
            Rollout = new RolloutController(Name, rollout, canary, baseline, percent => SetCanaryPercent(canary, baseline, percent), decisions,
                services.Time, services.Loggers.CreateLogger<RolloutController>());
        }
        _metrics = metrics;
        _series = metrics.CreateSeries(this);
        metrics.Track(this);
    }

    /// <summary>The outcomes joined to the variants that answered, when the route declares an experiment.</summary>
    public OutcomeLog? Outcomes { get; }

    /// <summary>The copies of requests sent to the shadow variant, when the route declares one.</summary>
    public ShadowMirror? Shadow { get; }

    /// <summary>The shadow variant's index; -1 without a shadow.</summary>
    public int ShadowIndex { get; } = -1;

    /// <summary>The stepwise promotion of the canary, when the route declares one.</summary>
    public RolloutController? Rollout { get; }

    /// <summary>
    /// The requests the weights (or a routing key) sent to each variant since the route was declared, by index, across
    /// every set of weights a rollout gave it (the sample-ratio check counts <see cref="RouteWeights.Window"/> instead).
    /// Requests forced to a variant by the header are not in it.
    /// </summary>
    public long WeightedRequests(int variant) => Interlocked.Read(ref _weighted[variant]);

    /// <summary>The declaration the runtime was made for.</summary>
    public RouteDeclaration Declaration { get; }

    /// <summary>The route's name: the name clients address.</summary>
    public string Name => Declaration.Name;

    /// <summary>The variants' names by index, as the declaration orders them (the first is the primary).</summary>
    public IReadOnlyList<string> VariantNames { get; }

    /// <summary>The variants' weights now, by index.</summary>
    public RouteWeights Weights { get; }

    /// <summary>The header that forces a variant, and that answers name the variant in (gRPC: a trailer), lower case.</summary>
    public string VariantHeader { get; }

    /// <summary>True when requests without an id get one (<see cref="GeneratedRequestIds"/>): the route joins outcomes to request ids.</summary>
    public bool GivesRequestIds { get; }

    /// <summary>True once the route went or was declared anew; requests routed before still complete through it.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>
    /// A request the route sent to variant <paramref name="variant"/> completed: answered (<paramref name="succeeded"/>,
    /// with <paramref name="response"/>, which the caller still owns and disposes) or failed, after
    /// <paramref name="elapsed"/>. Called once per request, on the request's path, after the variant ran it; it must
    /// not throw and must not keep the request or the response, which are disposed after it returns.
    /// </summary>
    /// <param name="variant">The variant's index.</param>
    /// <param name="window">The weights in force when the request was routed (<see cref="RouteWeights.Window"/>, read
    /// before it ran), which count it for the sample-ratio check; null when the forcing header chose the variant rather
    /// than the weights or a key.</param>
    /// <param name="succeeded">True when the variant answered.</param>
    /// <param name="elapsed">How long the variant took.</param>
    /// <param name="response">The answer; null when the request failed.</param>
    /// <param name="shadow">True for a shadow's copy: timed and judged like the variant's other requests, but its id is
    /// the primary's, whose outcome it must not take.</param>
    public void Completed(int variant, WeightWindow? window, bool succeeded, TimeSpan elapsed, InferenceResponse? response, bool shadow = false)
    {
        _series.Record(variant, succeeded, elapsed);
        if (window is not null)
        {
            Interlocked.Increment(ref _weighted[variant]);
            window.Count(variant);
        }
        Rollout?.Record(variant, succeeded, elapsed);
        if (!shadow && Outcomes is { } outcomes && response is not null && response.Id.Length > 0)
        {
            outcomes.Record(response.Id, variant, _predictionOutput is null ? null : PredictionReader.FirstValue(response, _predictionOutput));
        }
    }

    // Called by the rollout under its lock: the canary gets the step's share, the baseline the rest, the others keep theirs.
    private void SetCanaryPercent(int canary, int baseline, uint percent)
    {
        var weights = Weights.Current.ToArray();
        weights[canary] = percent;
        weights[baseline] = 100 - percent;
        Weights.Set(weights);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Rollout?.Dispose();
            // Called under the registry's lock: the mirror drops what is queued and its drain ends on its own.
            _ = Shadow?.DisposeAsync().AsTask();
            // Last, so the final counts of the rollout are in what the metrics take with them.
            _metrics.Untrack(this);
        }
    }
}
