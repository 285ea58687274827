using HdrHistogram;

namespace InferenceServer.LoadTest.Histograms;

/// <summary>
/// Durations in nanoseconds, counted in an HdrHistogram from 1 ns to <see cref="HighestTrackable"/> (60 s) at
/// <see cref="SignificantDigits"/> significant digits: every value shares its counter only with values within 1/1024
/// of it, and is reported as the middle of that range, so a reported percentile is off by at most 1/2048 (0.05%).
/// Next to the counts it keeps the exact count, minimum, maximum and sum, which HdrHistogram only approximates.
/// </summary>
/// <remarks>
/// One writer at a time (a thread's own histogram, or a merge); concurrent recording goes through
/// <see cref="LatencyRecorder"/>. Values past the trackable range count at its top and keep their exact maximum.
/// </remarks>
internal sealed class LatencyHistogram
{
    /// <summary>The largest value counted apart from others: 60 s. Larger values count here; their exact maximum is kept.</summary>
    public const long HighestTrackable = 60_000_000_000;

    /// <summary>Decimal digits of resolution at every magnitude.</summary>
    public const int SignificantDigits = 3;

    private readonly LongHistogram _counts = Create();
    private long _count;
    private long _min = long.MaxValue;
    private long _max;
    private double _sum;

    /// <summary>Values recorded.</summary>
    public long Count => Volatile.Read(ref _count);

    /// <summary>The smallest value recorded, exactly (0 when empty).</summary>
    public long Min => _count == 0 ? 0 : _min;

    /// <summary>The largest value recorded, exactly (0 when empty).</summary>
    public long Max => _max;

    /// <summary>Mean of the recorded values, exactly (0 when empty).</summary>
    public double Mean => _count == 0 ? 0 : _sum / _count;

    /// <summary>An empty HdrHistogram of this range and resolution.</summary>
    public static LongHistogram Create() => new(1, HighestTrackable, SignificantDigits);

    /// <summary>Records one value in nanoseconds; negative values count as 0.</summary>
    public void Record(long nanoseconds)
    {
        if (nanoseconds < 0)
        {
            nanoseconds = 0;
        }
        _counts.RecordValue(Math.Min(nanoseconds, HighestTrackable));
        _sum += nanoseconds;
        _min = Math.Min(_min, nanoseconds);
        _max = Math.Max(_max, nanoseconds);
        Volatile.Write(ref _count, _count + 1);
    }

    /// <summary>
    /// The value at percentile <paramref name="percentile"/> (0–100) by nearest rank: the smallest recorded value with at
    /// least that share of values at or below it, as the middle of its counter's range, clamped to the exact minimum
    /// and maximum.
    /// </summary>
    public long ValueAtPercentile(double percentile)
    {
        var count = _count;
        if (count == 0)
        {
            return 0;
        }
        var rank = (long)Math.Ceiling(Math.Clamp(percentile, 0, 100) / 100 * count);
        rank = Math.Clamp(rank, 1, count);
        if (rank == count)
        {
            // The top rank is the maximum, known exactly (also when it lies past the trackable range).
            return Max;
        }
        // HdrHistogram rounds the rank to the nearest; asking for rank/count exactly gives the nearest rank itself.
        var value = _counts.GetValueAtPercentile(100.0 * rank / count);
        return Math.Clamp(_counts.MedianEquivalentValue(value), Min, Max);
    }

    /// <summary>The value reported for <paramref name="nanoseconds"/>: the middle of the range counted with it.</summary>
    public long Representative(long nanoseconds) => _counts.MedianEquivalentValue(Math.Min(nanoseconds, HighestTrackable));

    /// <summary>The lowest value counted together with <paramref name="nanoseconds"/>.</summary>
    public long LowestEquivalent(long nanoseconds) => _counts.LowestEquivalentValue(nanoseconds);

    /// <summary>How many consecutive values are counted together with <paramref name="nanoseconds"/>.</summary>
    public long EquivalentRange(long nanoseconds) => _counts.SizeOfEquivalentValueRange(nanoseconds);

    /// <summary>How many values were counted together with <paramref name="nanoseconds"/> (past the range: at its top).</summary>
    public long CountAt(long nanoseconds) => _counts.GetCountAtValue(Math.Clamp(nanoseconds, 0, HighestTrackable));

    /// <summary>Every non-empty counter, lowest first: the values it holds [Low, High) and how many.</summary>
    public IEnumerable<(long Low, long High, long Count)> Counters()
    {
        foreach (var value in _counts.RecordedValues())
        {
            var low = _counts.LowestEquivalentValue(value.ValueIteratedTo);
            yield return (low, low + _counts.SizeOfEquivalentValueRange(low), value.CountAtValueIteratedTo);
        }
    }

    /// <summary>Adds every value of <paramref name="other"/> to this histogram (merging per-thread histograms).</summary>
    public void Add(LatencyHistogram other)
    {
        if (other.Count == 0)
        {
            return;
        }
        AddCounts(other._counts, other._count, other._min, other._max, other._sum);
    }

    /// <summary>Adds HdrHistogram counts whose count, extremes and sum are known (exactly or not) from elsewhere.</summary>
    internal void AddCounts(HistogramBase counts, long count, long min, long max, double sum)
    {
        if (count == 0)
        {
            return;
        }
        _counts.Add(counts);
        _count += count;
        _sum += sum;
        _min = Math.Min(_min, min);
        _max = Math.Max(_max, max);
    }

    /// <summary>Forgets every value.</summary>
    public void Reset()
    {
        _counts.Reset();
        _count = 0;
        _sum = 0;
        _min = long.MaxValue;
        _max = 0;
    }
}
