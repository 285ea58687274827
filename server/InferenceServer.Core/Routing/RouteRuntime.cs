using InferenceServer.Core.Inference;
using InferenceServer.Core.Monitoring;

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
    private int _disposed;

    public RouteRuntime(RouteDeclaration declaration, RoutingMetrics metrics)
    {
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
        _metrics = metrics;
        _series = metrics.CreateSeries(this);
        metrics.Track(this);
    }

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
    public void Completed(int variant, bool succeeded, TimeSpan elapsed, InferenceRequest request, InferenceResponse? response) =>
        _series.Record(variant, succeeded, elapsed);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _metrics.Untrack(this);
        }
    }
}
