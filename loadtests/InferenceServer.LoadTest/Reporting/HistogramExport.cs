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
        const int group = 8;
        var bins = new List<(double, double, long)>();
        for (var start = 0; start < LatencyHistogram.BucketCount; start += group)
        {
            long count = 0;
            for (var i = start; i < start + group && i < LatencyHistogram.BucketCount; i++)
            {
                count += histogram.CountAt(i);
            }
            if (count > 0)
            {
                var last = Math.Min(start + group, LatencyHistogram.BucketCount) - 1;
                bins.Add((LatencyHistogram.LowerBound(start) / 1e6, (LatencyHistogram.LowerBound(last) + LatencyHistogram.Width(last)) / 1e6, count));
            }
        }
        return bins;
    }

    /// <summary>Latency (ms) at each of <see cref="SpectrumPercentiles"/>.</summary>
    public static IReadOnlyList<(double Percentile, double Ms)> Spectrum(LatencyHistogram histogram) =>
        [.. SpectrumPercentiles.Select(p => (p, histogram.ValueAtPercentile(p) / 1e6))];
}
