namespace InferenceServer.Core.Monitoring;

/// <summary>
/// What <see cref="RoutingMetrics"/> has added to the Prometheus counters for one route runtime so far. The shadow,
/// rollout and experiment count from zero in each runtime (a changed declaration makes new ones), while the Prometheus
/// counters of a route and variant are cumulative across runtimes; so each scrape adds only what a runtime counted since
/// the last one.
/// </summary>
internal sealed class RoutePublished(int variants)
{
    public long Sampled;
    public long Compared;
    public long Dropped;
    public long Failed;
    public long Decisions;
    public long Flips;
    public long Promotions;
    public long Rollbacks;
    public readonly long[] Outcomes = new long[variants];
    public readonly long[] Conversions = new long[variants];
}
