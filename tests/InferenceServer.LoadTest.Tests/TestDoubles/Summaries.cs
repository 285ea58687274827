using InferenceServer.LoadTest.Histograms;
using InferenceServer.LoadTest.Load;
using InferenceServer.LoadTest.Targets;

namespace InferenceServer.LoadTest.Tests.TestDoubles;

/// <summary>Run summaries with chosen figures, for SLA and report tests.</summary>
internal static class Summaries
{
    /// <summary>A closed-loop run of <paramref name="seconds"/> whose successes took <paramref name="latenciesMs"/>, plus errors.</summary>
    public static RunSummary With(IEnumerable<double> latenciesMs, double seconds = 10, long errors = 0, LoadMode mode = LoadMode.Closed, long late = 0, IReadOnlyList<TimeSample>? series = null)
    {
        var latency = new LatencyHistogram();
        var lateness = new LatencyHistogram();
        long count = 0;
        foreach (var ms in latenciesMs)
        {
            latency.Record((long)(ms * 1e6));
            lateness.Record(count < late ? 5_000_000 : 0);
            count++;
        }
        return new RunSummary
        {
            Mode = mode,
            Latency = latency,
            Lateness = lateness,
            Sent = count + errors,
            Errors = errors,
            Late = late,
            WindowSuccesses = count,
            ErrorsByKind = errors == 0 ? [] : [new ErrorCount(ErrorKey.Http(503), errors, "model busy")],
            Seconds = seconds,
            TimeSeries = series ?? [],
            IntendedRate = mode == LoadMode.Open ? (count + errors) / seconds : null,
            LateThreshold = TimeSpan.FromMilliseconds(1),
        };
    }

    /// <summary>1,000 successes evenly spread from 1 to 10 ms (p50 ≈ 5.5 ms, p99 ≈ 9.9 ms) over 10 s, with <paramref name="errors"/>.</summary>
    public static RunSummary Typical(long errors = 0, LoadMode mode = LoadMode.Closed, long late = 0) =>
        With(Enumerable.Range(0, 1000).Select(i => 1 + (9.0 * i / 999)), 10, errors, mode, late, Series());

    public static IReadOnlyList<TimeSample> Series() =>
        [.. Enumerable.Range(-1, 11).Select(i => new TimeSample(i + 1, i < 0, 1, 100, i == 5 ? 2 : 0, 100, 100, 100, 5, 8, 9.9, 10, 3, 100))];
}
