using System.Numerics;
using System.Runtime.CompilerServices;

namespace InferenceServer.LoadTest.Histograms;

/// <summary>
/// A high-dynamic-range histogram of durations in nanoseconds with log-linear buckets: values below 256 ns each get a
/// bucket of their own; above, every power-of-two range [2^e, 2^(e+1)) is split into 128 equal buckets. A bucket is
/// thus never wider than 1/128 of its lower bound, and reporting its midpoint is off by at most 1/256 (0.4%) of any
/// value in it, from 1 ns up to <see cref="MaxTrackable"/> (about 68.7 s) in 3,840 counters (30 KB).
/// </summary>
/// <remarks>
/// One writer at a time: recording is plain increments, no locks or interlocked operations. A reader on another
/// thread may read the counters while the writer records (see <see cref="AddDeltaTo"/>); each counter only grows,
/// so what it sees is a slightly older but consistent-enough picture.
/// </remarks>
internal sealed class LatencyHistogram
{
    /// <summary>log2 of the buckets per power of two.</summary>
    public const int SubBucketBits = 7;

    /// <summary>The largest value kept apart from others; larger values count in the last bucket (their exact maximum is kept).</summary>
    public const long MaxTrackable = (1L << 36) - 1;

    /// <summary>How many buckets cover 0..<see cref="MaxTrackable"/>.</summary>
    public static readonly int BucketCount = IndexOf(MaxTrackable) + 1;

    private const int SubBuckets = 1 << SubBucketBits;
    private readonly long[] _counts = new long[BucketCount];
    private long _count;
    private long _min = long.MaxValue;
    private long _max;
    private double _sum;

    /// <summary>Values recorded.</summary>
    public long Count => Volatile.Read(ref _count);

    /// <summary>The smallest value recorded exactly (0 when empty).</summary>
    public long Min => _count == 0 ? 0 : _min;

    /// <summary>The largest value recorded exactly (0 when empty).</summary>
    public long Max => _max;

    /// <summary>Mean of the recorded values (0 when empty).</summary>
    public double Mean => _count == 0 ? 0 : _sum / _count;

    /// <summary>Records one value in nanoseconds; negative values count as 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Record(long nanoseconds)
    {
        if (nanoseconds < 0)
        {
            nanoseconds = 0;
        }
        _counts[IndexOf(Math.Min(nanoseconds, MaxTrackable))]++;
        _sum += nanoseconds;
        if (nanoseconds < _min)
        {
            _min = nanoseconds;
        }
        if (nanoseconds > _max)
        {
            _max = nanoseconds;
        }
        // Published last, so a reader that sees the count also sees (at least) the value's bucket on x64/arm64 alike.
        Volatile.Write(ref _count, _count + 1);
    }

    /// <summary>The bucket a value falls in.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int IndexOf(long value)
    {
        var shift = Math.Max(0, BitOperations.Log2((ulong)value) - SubBucketBits);
        return (shift << SubBucketBits) + (int)(value >> shift);
    }

    /// <summary>The smallest value of bucket <paramref name="index"/>.</summary>
    public static long LowerBound(int index)
    {
        var shift = Math.Max(0, (index >> SubBucketBits) - 1);
        return (long)(index - (shift << SubBucketBits)) << shift;
    }

    /// <summary>How many consecutive values bucket <paramref name="index"/> holds.</summary>
    public static long Width(int index) => 1L << Math.Max(0, (index >> SubBucketBits) - 1);

    /// <summary>The value reported for bucket <paramref name="index"/>: its middle.</summary>
    public static long Representative(int index) => LowerBound(index) + (Width(index) >> 1);

    /// <summary>How many values fell in bucket <paramref name="index"/>.</summary>
    public long CountAt(int index) => _counts[index];

    /// <summary>
    /// The value at percentile <paramref name="percentile"/> (0–100) by nearest rank: the smallest recorded value with at
    /// least that share of values at or below it, as its bucket's middle, clamped to the exact minimum and maximum.
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
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return Math.Clamp(Representative(i), Min, Max);
            }
        }
        return Max;
    }

    /// <summary>Adds every value of <paramref name="other"/> to this histogram (merging per-thread histograms).</summary>
    public void Add(LatencyHistogram other)
    {
        var count = other.Count;
        if (count == 0)
        {
            return;
        }
        for (var i = 0; i < _counts.Length; i++)
        {
            _counts[i] += other._counts[i];
        }
        _count += count;
        _sum += other._sum;
        _min = Math.Min(_min, other._min);
        _max = Math.Max(_max, other._max);
    }

    /// <summary>
    /// Adds to <paramref name="target"/> what this histogram gained since <paramref name="seen"/> (a private copy of
    /// the counters, updated here), so a reader can take interval histograms while the writer goes on recording.
    /// The interval's minimum and maximum are approximated by its buckets' bounds, except when the overall maximum is
    /// new (then it is exact).
    /// </summary>
    public void AddDeltaTo(LatencyHistogram target, long[] seen, ref long seenMax)
    {
        var max = _max;
        long added = 0;
        var low = long.MaxValue;
        long high = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            var now = _counts[i];
            var delta = now - seen[i];
            if (delta == 0)
            {
                continue;
            }
            seen[i] = now;
            target._counts[i] += delta;
            added += delta;
            target._sum += delta * (double)Representative(i);
            low = Math.Min(low, LowerBound(i));
            high = LowerBound(i) + Width(i) - 1;
        }
        if (added == 0)
        {
            return;
        }
        if (max > seenMax)
        {
            // The overall maximum grew, so this interval holds it: the exact value is known.
            high = max;
            seenMax = max;
        }
        target._count += added;
        target._min = Math.Min(target._min, low);
        target._max = Math.Max(target._max, high);
    }

    /// <summary>Forgets every value.</summary>
    public void Reset()
    {
        Array.Clear(_counts);
        _count = 0;
        _sum = 0;
        _min = long.MaxValue;
        _max = 0;
    }
}
