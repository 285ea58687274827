using InferenceServer.LoadTest.Histograms;

namespace InferenceServer.LoadTest.Reporting;

/// <summary>Views of a latency histogram for reports: a coarser set of bins, and a percentile spectrum.</summary>
internal static class HistogramExport
{
    /// <summary>The percentiles every report lists.</summary>
    public static readonly double[] ReportedPercentiles = [50, 90, 95, 99, 99.9];

    /// <summary>The spectrum's percentiles, dense towards the tail.</summary>
    public static readonly double[] SpectrumPercentiles = [0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 92.5, 95, 96.25, 97.5, 98.4375, 99, 99.5, 99.75, 99.9, 99.95, 99.99, 99.999, 100];

    /// <summary>Non-empty bins of 1/16 of a power of two (about 4.4% wide), in milliseconds.</summary>
    public static IReadOnlyList<(double LowMs, double HighMs, long Count)> Bins(LatencyHistogram histogram)
    {
        var bins = new List<(double, double, long)>();
        long low = -1, high = 0, count = 0;
        foreach (var counter in histogram.Counters())
        {
            var (binLow, binHigh) = Bin(counter.Low);
            if (binLow != low)
            {
                if (count > 0)
                {
                    bins.Add((low / 1e6, high / 1e6, count));
                }
                (low, high, count) = (binLow, binHigh, 0);
            }
            count += counter.Count;
        }
        if (count > 0)
        {
            bins.Add((low / 1e6, high / 1e6, count));
        }
        return bins;
    }

    // The bin [low, high) holding a value: a sixteenth of its power of two (single nanoseconds below 16 ns). HdrHistogram's
    // counters are powers of two wide and aligned, so each lies in one bin.
    private static (long Low, long High) Bin(long value)
    {
        if (value < 16)
        {
            return (value, value + 1);
        }
        var power = 1L << System.Numerics.BitOperations.Log2((ulong)value);
        var width = power / 16;
        var low = value - ((value - power) % width);
        return (low, low + width);
    }

    /// <summary>Latency (ms) at each of <see cref="SpectrumPercentiles"/>.</summary>
    public static IReadOnlyList<(double Percentile, double Ms)> Spectrum(LatencyHistogram histogram) =>
        [.. SpectrumPercentiles.Select(p => (p, histogram.ValueAtPercentile(p) / 1e6))];
}
