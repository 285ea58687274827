namespace InferenceServer.Protocols.Metrics;

/// <summary>One series as read for a scrape.</summary>
/// <param name="Labels">Label name/value pairs.</param>
/// <param name="Value">The counter's or gauge's value (unused for histograms).</param>
internal sealed record MetricSeriesSnapshot(IReadOnlyList<KeyValuePair<string, string>> Labels, double Value)
{
    /// <summary>Histogram bucket upper bounds, ascending, without +Inf.</summary>
    public IReadOnlyList<double>? Bounds { get; init; }

    /// <summary>Observations per bucket (not cumulative); one more entry than <see cref="Bounds"/>, the last for +Inf.</summary>
    public IReadOnlyList<long>? BucketCounts { get; init; }

    /// <summary>The sum of the histogram's observations.</summary>
    public double Sum { get; init; }
}
