using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace InferenceServer.Protocols.Metrics;

/// <summary>
/// The aggregation of one instrument into cumulative series, keyed by label set. Counters sum
/// their measurements, up-down counters too (exposed as gauges), observable instruments report
/// their current value, histograms count into fixed buckets.
/// </summary>
internal sealed class MetricFamily
{
    // Used when an instrument gives no bucket advice (OpenTelemetry's default boundaries).
    private static readonly double[] DefaultBuckets = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

    private readonly ConcurrentDictionary<SeriesKey, MetricSeries> _series = new(SeriesKeyComparer.Instance);
    private readonly ConcurrentDictionary<SeriesKey, MetricSeries>.AlternateLookup<ReadOnlySpan<KeyValuePair<string, object?>>> _lookup;
    private readonly double[]? _bounds;

    public MetricFamily(Instrument instrument)
    {
        _lookup = _series.GetAlternateLookup<ReadOnlySpan<KeyValuePair<string, object?>>>();
        Name = instrument.Name;
        Help = instrument.Description ?? "";
        IsObservable = instrument.IsObservable;
        (Type, _bounds) = instrument switch
        {
            Counter<long> or Counter<int> or Counter<double> or ObservableCounter<long> or ObservableCounter<int> or ObservableCounter<double> => (MetricType.Counter, null),
            Histogram<long> h => (MetricType.Histogram, Bounds(h.Advice?.HistogramBucketBoundaries)),
            Histogram<int> h => (MetricType.Histogram, Bounds(h.Advice?.HistogramBucketBoundaries)),
            Histogram<double> h => (MetricType.Histogram, Bounds(h.Advice?.HistogramBucketBoundaries)),
            _ => (MetricType.Gauge, (double[]?)null),
        };
    }

    public string Name { get; }

    public string Help { get; }

    public MetricType Type { get; }

    /// <summary>True when the instrument reports its current value on collection rather than recording as things happen.</summary>
    public bool IsObservable { get; }

    /// <summary>Records one measurement; called from the listener on the thread that recorded it.</summary>
    public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (!_lookup.TryGetValue(tags, out var series))
        {
            var key = SeriesKeyComparer.Instance.Create(tags);
            series = _series.GetOrAdd(key, static (k, bucketCount) => new MetricSeries(k, bucketCount), _bounds is null ? 0 : _bounds.Length + 1);
        }
        if (_bounds is not null)
        {
            series.Observe(value, _bounds);
        }
        else if (IsObservable)
        {
            series.Set(value);
        }
        else
        {
            series.Add(value);
        }
    }

    /// <summary>Forgets every series; observable gauges are cleared before each collection so that a vanished source's series goes away.</summary>
    public void Clear() => _series.Clear();

    public MetricFamilySnapshot Snapshot()
    {
        var series = new List<MetricSeriesSnapshot>(_series.Count);
        foreach (var entry in _series.Values)
        {
            series.Add(entry.Snapshot(_bounds));
        }
        series.Sort(static (a, b) => CompareLabels(a.Labels, b.Labels));
        return new MetricFamilySnapshot(Name, Help, Type, series);
    }

    private static double[] Bounds<T>(IReadOnlyList<T>? advice) where T : struct
    {
        if (advice is null || advice.Count == 0)
        {
            return DefaultBuckets;
        }
        var bounds = new double[advice.Count];
        for (var i = 0; i < bounds.Length; i++)
        {
            bounds[i] = Convert.ToDouble(advice[i], System.Globalization.CultureInfo.InvariantCulture);
        }
        Array.Sort(bounds);
        return bounds;
    }

    private static int CompareLabels(IReadOnlyList<KeyValuePair<string, string>> a, IReadOnlyList<KeyValuePair<string, string>> b)
    {
        for (var i = 0; i < Math.Min(a.Count, b.Count); i++)
        {
            var c = string.CompareOrdinal(a[i].Key, b[i].Key);
            if (c == 0)
            {
                c = string.CompareOrdinal(a[i].Value, b[i].Value);
            }
            if (c != 0)
            {
                return c;
            }
        }
        return a.Count.CompareTo(b.Count);
    }
}
