namespace InferenceServer.Protocols.Metrics;

/// <summary>The Prometheus metric types this server exposes.</summary>
internal enum MetricType
{
    /// <summary>A cumulative value that only goes up.</summary>
    Counter,
    /// <summary>A value that goes up and down.</summary>
    Gauge,
    /// <summary>Observations counted into cumulative buckets, with their sum and count.</summary>
    Histogram,
}
