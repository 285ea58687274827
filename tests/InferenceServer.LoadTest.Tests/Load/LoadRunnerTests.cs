using InferenceServer.LoadTest.Load;
using InferenceServer.LoadTest.ModelMix;
using InferenceServer.LoadTest.Targets;
using InferenceServer.LoadTest.Tests.TestDoubles;

namespace InferenceServer.LoadTest.Tests.Load;

public sealed class LoadRunnerTests
{
    private static RunPlan OpenPlan(double rate, double seconds, int maxInFlight = 10_000, double warmup = 0) => new()
    {
        Mode = LoadMode.Open,
        Profile = LoadProfile.Constant(rate, TimeSpan.FromSeconds(seconds)),
        Warmup = TimeSpan.FromSeconds(warmup),
        WarmupLevel = rate,
        MaxInFlight = maxInFlight,
        SpinWindow = TimeSpan.Zero,
        DispatchOnThreadPool = false,
    };

    private static RunPlan ClosedPlan(int workers, double seconds, double warmup = 0, double timeoutMs = 10_000) => new()
    {
        Mode = LoadMode.Closed,
        Profile = LoadProfile.Constant(workers, TimeSpan.FromSeconds(seconds)),
        Warmup = TimeSpan.FromSeconds(warmup),
        WarmupLevel = workers,
        Timeout = TimeSpan.FromMilliseconds(timeoutMs),
    };

    [Fact]
    public async Task Open_loop_latency_counts_from_the_intended_time_so_a_stalled_server_is_not_hidden()
    {
        // 100 requests/s against a server that takes 50 ms and serves one at a time: the schedule cannot be kept.
        // Request n is due at 10n ms, starts when request n-1 ends at 50n ms and ends at 50(n+1) ms, so its latency
        // is 40n + 50 ms. Timing from the actual send (coordinated omission) would say 50 ms for every request.
        var clock = new ManualTimeProvider();
        var target = new ScriptedTarget(clock, 1, _ => ScriptedTarget.Step.Ok(50));
        var summary = await target.DriveAsync(() => new LoadRunner(clock).RunAsync(OpenPlan(rate: 100, seconds: 1, maxInFlight: 1), target, null, CancellationToken.None));

        Assert.Equal(100, summary.Sent);
        Assert.Equal(100, summary.Successes);
        Assert.Equal(0, summary.Errors);
        Assert.Equal(99, summary.Late);
        Assert.Equal(50, summary.Latency.Min / 1e6, 1);
        Assert.Equal((40 * 99) + 50, summary.Latency.Max / 1e6, 1);
        Assert.InRange(summary.PercentileMs(50), 0.99 * ((40 * 49) + 50), 1.01 * ((40 * 49) + 50));
        Assert.InRange(summary.PercentileMs(99), 0.99 * ((40 * 98) + 50), 1.01 * ((40 * 98) + 50));
        // The schedule slipped by 40 ms per request; the last one started 3.96 s late.
        Assert.Equal(3960, summary.Lateness.Max / 1e6, 1);
        Assert.Equal(100, summary.IntendedRate);
        // Throughput is what was served within the 1 s window (responses at 50, 100, … 1000 ms), not the 100/s asked for.
        Assert.Equal(19, summary.WindowSuccesses);
        Assert.Equal(19, summary.Throughput, 6);
    }

    [Fact]
    public async Task Open_loop_keeps_its_rate_when_the_server_keeps_up_and_measures_the_service_time()
    {
        var clock = new ManualTimeProvider();
        var target = new ScriptedTarget(clock, 4, _ => ScriptedTarget.Step.Ok(25));
        var summary = await target.DriveAsync(() => new LoadRunner(clock).RunAsync(OpenPlan(rate: 200, seconds: 2, warmup: 0.5), target, null, CancellationToken.None));

        Assert.Equal(100, summary.WarmupRequests);
        Assert.Equal(400, summary.Sent);
        Assert.Equal(400, summary.Successes);
        Assert.Equal(0, summary.Late);
        Assert.Equal(25, summary.PercentileMs(99), 1);
        Assert.Equal(200, summary.Throughput, 6);
        Assert.Equal(500, target.Sent);
    }

    [Fact]
    public async Task Closed_loop_splits_warmup_from_measurement_and_counts_errors_by_kind()
    {
        // One worker, 10 ms per request: 50 requests in the 0.5 s warm-up, 100 measured. Sequence numbers run on, so
        // measured requests 50…149 hit inputs (s mod 4): 2 throws a connection error, 3 answers HTTP 503.
        var clock = new ManualTimeProvider();
        var target = new ScriptedTarget(clock, 4, input => input switch
        {
            2 => new ScriptedTarget.Step(TimeSpan.FromMilliseconds(10), RequestOutcome.Ok, new HttpRequestException(HttpRequestError.ConnectionError, "refused")),
            3 => new ScriptedTarget.Step(TimeSpan.FromMilliseconds(10), RequestOutcome.Failed(ErrorKey.Http(503), "busy")),
            _ => ScriptedTarget.Step.Ok(10),
        });
        var summary = await target.DriveAsync(() => new LoadRunner(clock).RunAsync(ClosedPlan(workers: 1, seconds: 1, warmup: 0.5), target, null, CancellationToken.None));

        Assert.Equal(50, summary.WarmupRequests);
        Assert.Equal(100, summary.Sent);
        Assert.Equal(50, summary.Successes);
        Assert.Equal(50, summary.Errors);
        Assert.Equal(0, summary.Late);
        var kinds = summary.ErrorsByKind.ToDictionary(e => e.Kind, e => e.Count);
        Assert.Equal(25, kinds[ErrorKey.Connection]);
        Assert.Equal(25, kinds[ErrorKey.Http(503)]);
        Assert.Equal(10, summary.PercentileMs(50), 1);
        Assert.Equal(0.5, summary.ErrorShare);
        Assert.Equal(50, summary.Throughput, 6);
    }

    [Fact]
    public async Task A_request_past_its_timeout_is_cancelled_and_counted_as_a_timeout()
    {
        var clock = new ManualTimeProvider();
        var target = new ScriptedTarget(clock, 1, _ => new ScriptedTarget.Step(TimeSpan.Zero, RequestOutcome.Ok, Hang: true));
        var summary = await target.DriveAsync(() => new LoadRunner(clock).RunAsync(ClosedPlan(workers: 1, seconds: 1, timeoutMs: 100), target, null, CancellationToken.None));

        Assert.Equal(10, summary.Sent);
        Assert.Equal(0, summary.Successes);
        var error = Assert.Single(summary.ErrorsByKind);
        Assert.Equal(ErrorKey.Timeout, error.Kind);
        Assert.Equal(10, error.Count);
    }

    [Fact]
    public async Task The_time_series_has_one_sample_per_interval_and_a_last_one_ending_when_the_last_response_came()
    {
        // 50/s for 1 s of warm-up and 3 s measured; the last request is due at 2.98 s and answered at 2.985 s.
        var clock = new ManualTimeProvider();
        var target = new ScriptedTarget(clock, 1, _ => ScriptedTarget.Step.Ok(5));
        var summary = await target.DriveAsync(() => new LoadRunner(clock).RunAsync(OpenPlan(rate: 50, seconds: 3, warmup: 1), target, null, CancellationToken.None));

        Assert.Equal([0.0, 1.0, 2.0, 2.985], summary.TimeSeries.Select(s => Math.Round(s.Seconds, 3)));
        Assert.Equal([true, false, false, false], summary.TimeSeries.Select(s => s.Warmup));
        Assert.All(summary.TimeSeries, s => Assert.Equal(50, s.Sent));
        Assert.All(summary.TimeSeries.Take(3), s => Assert.Equal(50, s.SendRate, 6));
        Assert.Equal(50 / 0.985, summary.TimeSeries[3].SendRate, 6);
        Assert.Equal(200, summary.TimeSeries.Sum(s => s.Successes));
        Assert.All(summary.TimeSeries, s => Assert.Equal(5, s.P99Ms, 1));
        Assert.All(summary.TimeSeries, s => Assert.Equal(50, s.TargetLevel));
    }

    [Fact]
    public async Task Many_models_are_picked_by_the_plan_counted_per_model_and_cold_starts_split_from_warm_latency()
    {
        // 200/s for 2 s over four models, Zipf-distributed: m0 and m1 answer warm in 5 ms, m2 after a 180 ms load
        // (the server says so, as Inference-Cold-Start-Ms would) in 200 ms, m3 is refused with 503 (its cold start missed
        // the deadline).
        var clock = new ManualTimeProvider();
        var target = new ScriptedTarget(clock, 1, _ => ScriptedTarget.Step.Ok(5))
        {
            ModelCount = 4,
            ModelScript = model => model switch
            {
                2 => new ScriptedTarget.Step(TimeSpan.FromMilliseconds(200), RequestOutcome.OkCold(180)),
                3 => new ScriptedTarget.Step(TimeSpan.FromMilliseconds(1), RequestOutcome.Failed(ErrorKey.Http(503), "cold-start deadline")),
                _ => ScriptedTarget.Step.Ok(5),
            },
        };
        var picker = new ModelPicker(4, ModelDistribution.Parse("zipf:1.1", "--model-distribution"), seed: 5);
        var plan = OpenPlan(rate: 200, seconds: 2) with { Models = picker };
        var summary = await target.DriveAsync(() => new LoadRunner(clock).RunAsync(plan, target, null, CancellationToken.None, ["m0", "m1", "m2", "m3"]));

        // Request n goes to the model the picker gives sequence n: the plan decides, reproducibly.
        var expected = new long[4];
        for (var sequence = 0; sequence < 400; sequence++)
        {
            expected[picker.Pick(sequence)]++;
        }
        Assert.Equal(expected, summary.PerModel.Select(m => m.Requests));
        Assert.Equal(expected.Select(e => (int)e), target.SentPerModel);
        Assert.Equal(["m0", "m1", "m2", "m3"], summary.PerModel.Select(m => m.Name));
        Assert.True(expected[0] > expected[1] && expected[1] > expected[3], string.Join(",", expected));

        Assert.Equal(expected[0] + expected[1], summary.Warm.Count);
        Assert.Equal(expected[2], summary.ColdStarts);
        Assert.Equal(expected[3], summary.ColdStartDeadlineMisses);
        Assert.Equal([0, 0, expected[2], 0], summary.PerModel.Select(m => m.ColdStarts));
        Assert.Equal([0, 0, 0, expected[3]], summary.PerModel.Select(m => m.Errors));
        Assert.Equal(5, summary.Warm.ValueAtPercentile(99) / 1e6, 1);
        Assert.Equal(200, summary.Cold.ValueAtPercentile(50) / 1e6, 0);
        Assert.Equal(summary.Warm.Count + summary.Cold.Count, summary.Successes);
        Assert.Equal((expected[0] + expected[1]) / 400.0, summary.HitRate, 9);
    }
}
