using InferenceServer.LoadTest.Histograms;

namespace InferenceServer.LoadTest.Tests.Histograms;

public sealed class LatencyHistogramTests
{
    private const long Microsecond = 1_000;
    private const long Millisecond = 1_000_000;
    private const long Second = 1_000_000_000;

    [Fact]
    public void Counters_tile_the_range_without_gaps_and_stay_within_1_in_1024_of_their_lower_bound()
    {
        var histogram = new LatencyHistogram();
        long expectedLower = 0;
        var counters = 0;
        while (expectedLower <= LatencyHistogram.HighestTrackable)
        {
            var lower = histogram.LowestEquivalent(expectedLower);
            var width = histogram.EquivalentRange(expectedLower);
            Assert.Equal(expectedLower, lower);
            Assert.Equal(lower, histogram.LowestEquivalent(lower + width - 1));
            Assert.True(width == 1 || width * 1024 <= lower, $"counter at {lower}: width {width}");
            expectedLower = lower + width;
            counters++;
        }
        // 26 powers of two of 1,024 counters each (the first 2,048 values one apiece): about 220 KB of counts.
        Assert.InRange(counters, 26_000, 28_000);
    }

    [Fact]
    public void Every_value_from_1_us_to_60_s_is_reported_within_a_twentieth_of_a_percent()
    {
        var histogram = new LatencyHistogram();
        var random = new Random(7);
        for (var n = 0; n < 200_000; n++)
        {
            // Log-uniform over seven decades.
            var value = (long)Math.Exp(Math.Log(Microsecond) + (random.NextDouble() * (Math.Log(60.0 * Second) - Math.Log(Microsecond))));
            var reported = histogram.Representative(value);
            Assert.True(Math.Abs(reported - value) <= value / 2048.0 + 0.5, $"{value} reported as {reported}");
        }
    }

    public static TheoryData<string> Distributions => ["uniform", "exponential", "bimodal", "extremes"];

    [Theory]
    [MemberData(nameof(Distributions))]
    public void Percentiles_match_the_exact_sorted_values_within_1_percent(string distribution)
    {
        var values = Sample(distribution, 100_000, seed: 42);
        var histogram = new LatencyHistogram();
        foreach (var value in values)
        {
            histogram.Record(value);
        }
        var sorted = values.Order().ToArray();

        Assert.Equal(values.Length, histogram.Count);
        Assert.Equal(sorted[0], histogram.Min);
        Assert.Equal(sorted[^1], histogram.Max);
        Assert.Equal(values.Average(v => (double)v), histogram.Mean, 6);
        foreach (var p in (double[])[1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100])
        {
            var exact = NearestRank(sorted, p);
            var measured = histogram.ValueAtPercentile(p);
            var error = Math.Abs(measured - exact) / (double)exact;
            Assert.True(error <= 0.01, $"{distribution} p{p}: exact {exact} ns, histogram {measured} ns, error {error:P3}");
        }
    }

    [Fact]
    public void Values_past_the_trackable_range_count_in_the_last_bucket_and_keep_their_exact_maximum()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(2 * Millisecond);
        histogram.Record(100 * Second);
        histogram.Record(-5);

        Assert.Equal(3, histogram.Count);
        Assert.Equal(0, histogram.Min);
        Assert.Equal(100 * Second, histogram.Max);
        Assert.Equal(1, histogram.CountAt(LatencyHistogram.HighestTrackable));
        Assert.Equal(100 * Second, histogram.ValueAtPercentile(100));
    }

    [Fact]
    public void An_empty_histogram_reports_zeros()
    {
        var histogram = new LatencyHistogram();
        Assert.Equal(0, histogram.ValueAtPercentile(99));
        Assert.Equal(0, histogram.Min);
        Assert.Equal(0, histogram.Max);
        Assert.Equal(0, histogram.Mean);
    }

    [Fact]
    public void Histograms_recorded_on_separate_threads_merge_into_the_single_histogram_of_all_values()
    {
        var values = Sample("bimodal", 80_000, seed: 3);
        var single = new LatencyHistogram();
        foreach (var value in values)
        {
            single.Record(value);
        }
        var parts = new LatencyHistogram[8];
        Parallel.For(0, parts.Length, new ParallelOptions { MaxDegreeOfParallelism = parts.Length }, part =>
        {
            var own = new LatencyHistogram();
            for (var i = part; i < values.Length; i += parts.Length)
            {
                own.Record(values[i]);
            }
            parts[part] = own;
        });

        var merged = new LatencyHistogram();
        foreach (var part in parts)
        {
            merged.Add(part);
        }

        Assert.Equal(single.Count, merged.Count);
        Assert.Equal(single.Min, merged.Min);
        Assert.Equal(single.Max, merged.Max);
        Assert.Equal(single.Mean, merged.Mean, 6);
        Assert.Equal(single.Counters(), merged.Counters());
    }

    [Fact]
    public void Interval_deltas_hold_exactly_what_was_recorded_since_the_previous_one()
    {
        var histogram = new LatencyRecorder();
        foreach (var ms in (long[])[1, 2, 3])
        {
            histogram.Record(ms * Millisecond);
        }
        var first = new LatencyHistogram();
        histogram.AddIntervalTo(first);

        foreach (var ms in (long[])[10, 20])
        {
            histogram.Record(ms * Millisecond);
        }
        var second = new LatencyHistogram();
        histogram.AddIntervalTo(second);
        var third = new LatencyHistogram();
        histogram.AddIntervalTo(third);

        Assert.Equal(3, first.Count);
        Assert.Equal(2, second.Count);
        Assert.Equal(0, third.Count);
        Assert.Equal(20 * Millisecond, second.Max);
        Assert.InRange(second.ValueAtPercentile(50), 9.95 * Millisecond, 10.05 * Millisecond);
        Assert.InRange(first.ValueAtPercentile(100), 2.98 * Millisecond, 3.02 * Millisecond);

        // The intervals taken add up to everything, and the total keeps the exact extremes and mean.
        var total = histogram.Total();
        Assert.Equal(5, total.Count);
        Assert.Equal(1 * Millisecond, total.Min);
        Assert.Equal(20 * Millisecond, total.Max);
        Assert.Equal(7.2 * Millisecond, total.Mean, 6);
    }

    [Fact]
    public void Intervals_taken_while_the_owner_records_lose_and_double_count_nothing()
    {
        var recorder = new LatencyRecorder();
        var intervals = new LatencyHistogram();
        var done = false;
        var taken = 0;
        var writer = new Thread(() =>
        {
            for (var i = 0; i < 200_000; i++)
            {
                // Halfway, wait for an interval to have been taken, so at least one is taken mid-stream even when a
                // busy machine starts this thread late.
                if (i == 100_000)
                {
                    SpinWait.SpinUntil(() => Volatile.Read(ref taken) > 0);
                }
                recorder.Record(Microsecond + (i % 5000));
            }
            Volatile.Write(ref done, true);
        });
        writer.Start();
        while (!Volatile.Read(ref done))
        {
            recorder.AddIntervalTo(intervals);
            Interlocked.Increment(ref taken);
        }
        writer.Join();
        recorder.AddIntervalTo(intervals);

        Assert.True(taken > 0);
        Assert.Equal(200_000, intervals.Count);
        Assert.Equal(200_000, recorder.Total().Count);
        Assert.Equal(Microsecond + 4999, recorder.Total().Max);
    }

    private static long NearestRank(long[] sorted, double percentile)
    {
        var rank = (int)Math.Max(1, Math.Ceiling(percentile / 100 * sorted.Length));
        return sorted[rank - 1];
    }

    private static long[] Sample(string distribution, int count, int seed)
    {
        var random = new Random(seed);
        var values = new long[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = distribution switch
            {
                // 1 ms to 100 ms.
                "uniform" => Millisecond + (long)(random.NextDouble() * 99 * Millisecond),
                // Mean 5 ms, floored at 1 µs.
                "exponential" => Math.Max(Microsecond, (long)(-Math.Log(1 - random.NextDouble()) * 5 * Millisecond)),
                // 90% around 800 µs, 10% around 40 ms: a fast path and a slow one.
                "bimodal" => random.NextDouble() < 0.9
                    ? Math.Max(Microsecond, (long)Normal(random, 800 * Microsecond, 80 * Microsecond))
                    : Math.Max(Microsecond, (long)Normal(random, 40 * Millisecond, 4 * Millisecond)),
                // The ends of the promised range: 1 µs … 60 s, log-uniform.
                _ => (long)Math.Exp(Math.Log(Microsecond) + (random.NextDouble() * (Math.Log(60.0 * Second) - Math.Log(Microsecond)))),
            };
        }
        return values;
    }

    private static double Normal(Random random, double mean, double deviation) =>
        mean + (deviation * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
}
