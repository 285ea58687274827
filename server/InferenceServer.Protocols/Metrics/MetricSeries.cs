namespace InferenceServer.Protocols.Metrics;

/// <summary>
/// One series' running value: a sum (counters), a last value (gauges) or bucket counts with a sum
/// (histograms). Updated lock-free from whichever thread records.
/// </summary>
internal sealed class MetricSeries
{
    private readonly long[]? _buckets;
    private double _value;
    private double _sum;

    public MetricSeries(SeriesKey key, int bucketCount)
    {
        Key = key;
        _buckets = bucketCount > 0 ? new long[bucketCount] : null;
    }

    public SeriesKey Key { get; }

    public void Add(double delta) => AddDouble(ref _value, delta);

    public void Set(double value) => Interlocked.Exchange(ref _value, value);

    /// <summary>Counts <paramref name="value"/> into the first bucket whose upper bound holds it (the last bucket is +Inf).</summary>
    public void Observe(double value, double[] bounds)
    {
        var index = Array.BinarySearch(bounds, value);
        Interlocked.Increment(ref _buckets![index >= 0 ? index : ~index]);
        AddDouble(ref _sum, value);
    }

    public MetricSeriesSnapshot Snapshot(double[]? bounds)
    {
        if (_buckets is null)
        {
            return new MetricSeriesSnapshot(Key.Labels, Volatile.Read(ref _value));
        }
        var counts = new long[_buckets.Length];
        for (var i = 0; i < counts.Length; i++)
        {
            counts[i] = Volatile.Read(ref _buckets[i]);
        }
        return new MetricSeriesSnapshot(Key.Labels, 0) { Bounds = bounds, BucketCounts = counts, Sum = Volatile.Read(ref _sum) };
    }

    private static void AddDouble(ref double location, double delta)
    {
        var current = Volatile.Read(ref location);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref location, current + delta, current);
            if (seen.Equals(current))
            {
                return;
            }
            current = seen;
        }
    }
}
