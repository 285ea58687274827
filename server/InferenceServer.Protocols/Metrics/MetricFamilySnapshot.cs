namespace InferenceServer.Protocols.Metrics;

/// <summary>One metric family as read for a scrape.</summary>
/// <param name="Name">The metric name.</param>
/// <param name="Help">What it measures (the instrument's description).</param>
/// <param name="Type">Counter, gauge or histogram.</param>
/// <param name="Series">Its series, one per label set.</param>
internal sealed record MetricFamilySnapshot(string Name, string Help, MetricType Type, IReadOnlyList<MetricSeriesSnapshot> Series);
