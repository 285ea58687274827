using HdrHistogram;

namespace InferenceServer.LoadTest.Histograms;

/// <summary>
/// One thread's latencies, recorded into an HdrHistogram <see cref="Recorder"/> so that a sampler on another thread
/// can take interval histograms while the owner goes on recording (the recorder flips between two histograms; the
/// writer never waits). The exact count, minimum, maximum and sum are kept by the owner thread alongside.
/// </summary>
internal sealed class LatencyRecorder
{
    private readonly Recorder _recorder = new(1, LatencyHistogram.HighestTrackable, LatencyHistogram.SignificantDigits,
        static (id, lowest, highest, digits) => new LongHistogram(id, lowest, highest, digits));

    // Every interval taken so far; the reader's, under the lock.
    private readonly LongHistogram _total = LatencyHistogram.Create();
    private readonly Lock _readLock = new();
    private HistogramBase? _recycled;
    private long _seenMax;

    // Written by the owner thread only.
    private long _count;
    private long _min = long.MaxValue;
    private long _max;
    private double _sum;

    /// <summary>Values recorded.</summary>
    public long Count => Volatile.Read(ref _count);

    /// <summary>Records one value in nanoseconds (negative counts as 0); the owner thread only.</summary>
    public void Record(long nanoseconds)
    {
        if (nanoseconds < 0)
        {
            nanoseconds = 0;
        }
        _recorder.RecordValue(Math.Min(nanoseconds, LatencyHistogram.HighestTrackable));
        _sum += nanoseconds;
        _min = Math.Min(_min, nanoseconds);
        Volatile.Write(ref _max, Math.Max(_max, nanoseconds));
        Volatile.Write(ref _count, _count + 1);
    }

    /// <summary>
    /// Adds to <paramref name="interval"/> what was recorded since the previous call. The interval's minimum and sum come
    /// from its counters; its maximum is exact when it holds a new overall maximum, else its counter's top.
    /// </summary>
    public void AddIntervalTo(LatencyHistogram interval)
    {
        lock (_readLock)
        {
            var counts = TakeInterval();
            if (counts.TotalCount == 0)
            {
                return;
            }
            long min = long.MaxValue, max = 0;
            double sum = 0;
            foreach (var value in counts.RecordedValues())
            {
                min = Math.Min(min, counts.LowestEquivalentValue(value.ValueIteratedTo));
                max = counts.HighestEquivalentValue(value.ValueIteratedTo);
                sum += counts.MedianEquivalentValue(value.ValueIteratedTo) * (double)value.CountAtValueIteratedTo;
            }
            var overall = Volatile.Read(ref _max);
            if (overall > _seenMax)
            {
                // The overall maximum grew, so this interval holds it: the exact value is known.
                max = overall;
                _seenMax = overall;
            }
            interval.AddCounts(counts, counts.TotalCount, min, max, sum);
        }
    }

    /// <summary>Everything recorded, with exact count, extremes and mean; call once the owner has stopped recording.</summary>
    public LatencyHistogram Total()
    {
        var total = new LatencyHistogram();
        lock (_readLock)
        {
            TakeInterval();
            total.AddCounts(_total, _count, _min, _max, _sum);
        }
        return total;
    }

    // The counts since the previous call, also added to the running total. Under the read lock.
    private HistogramBase TakeInterval()
    {
        var counts = _recorder.GetIntervalHistogram(_recycled);
        _recycled = counts;
        _total.Add(counts);
        return counts;
    }
}
