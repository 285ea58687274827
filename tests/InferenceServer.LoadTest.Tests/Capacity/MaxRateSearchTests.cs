using InferenceServer.LoadTest.Capacity;

namespace InferenceServer.LoadTest.Tests.Capacity;

public sealed class MaxRateSearchTests
{
    // A server of a given capacity: a trial passes when its rate is at most the capacity, unless the script says this
    // trial (by its number, from 0) was stalled by something else on the machine.
    private static Task<CapacityResult> Search(double capacity, double start = 100, double max = 1_000_000, double precision = 0.05, int trials = 60,
        Func<int, bool>? stalled = null)
    {
        var count = 0;
        return MaxRateSearch.SearchAsync(start, max, precision, trials, (rate, full) =>
        {
            var passed = rate <= capacity && !(stalled?.Invoke(count) ?? false);
            count++;
            return Task.FromResult(new CapacityTrial(rate, passed, null, []) { Full = full });
        }, CancellationToken.None);
    }

    [Theory]
    [InlineData(1234)]
    [InlineData(100)]
    [InlineData(99.5)]
    [InlineData(7)]
    [InlineData(250_000)]
    public async Task The_search_brackets_the_true_capacity_within_the_precision(double capacity)
    {
        var result = await Search(capacity);

        Assert.NotNull(result.MaxRate);
        Assert.InRange(result.MaxRate!.Value, capacity * 0.95, capacity);
        Assert.InRange(result.LowestFailingRate!.Value, capacity, result.MaxRate.Value / 0.95);
        Assert.All(result.Trials, t => Assert.Equal(t.Rate <= capacity, t.Passed));
        Assert.Contains("bracketed within 5%", result.StopReason, StringComparison.Ordinal);
        Assert.True(result.Confirmed);
        Assert.InRange(result.Uncertainty!.Value, 0, 0.026);
        Assert.Empty(result.NoisyRates);
    }

    [Fact]
    public async Task Rates_double_from_the_start_until_one_fails_twice_then_bisect_with_full_trials_and_repeat_the_answer()
    {
        var result = await Search(1000, start: 100);
        var trials = result.Trials.Select(t => (t.Rate, t.Passed, t.Full)).ToList();

        Assert.Equal(
            [
                // Scouting: short trials, doubling; a failure is repeated (in full) before it counts.
                (100.0, true, false), (200, true, false), (400, true, false), (800, true, false), (1600, false, false), (1600, false, true),
                // Bisection in full trials.
                (1200, false, true), (1200, false, true), (1000, true, true), (1100, false, true), (1100, false, true),
                (1050, false, true), (1050, false, true),
                // Bracketed (1000 passes, 1050 fails): 1000 is repeated, and 1050 must fail a third time.
                (1000, true, true), (1050, false, true),
            ],
            trials);
        Assert.Equal(1000, result.MaxRate);
        Assert.Equal(1050, result.LowestFailingRate);
    }

    [Fact]
    public async Task A_stalled_trial_at_a_low_rate_does_not_end_the_search_there()
    {
        // The first trial (100/s) is stalled by another process: alone it would fail the start and halve down to ~72/s.
        var result = await Search(3200, start: 100, stalled: n => n == 0);

        Assert.InRange(result.MaxRate!.Value, 3200 * 0.95, 3200);
        Assert.Equal([false, true, true], result.Trials.Where(t => t.Rate == 100).Select(t => t.Passed));
        Assert.Equal([100.0], result.NoisyRates);
    }

    [Fact]
    public async Task An_answer_that_fails_its_repeat_twice_is_dropped_for_the_best_rate_below_it()
    {
        // The search brackets 1000 (passes) against 1050, then the repeats at 1000 fail: the boundary moved down.
        var repeatsAt1000 = 0;
        var result = await MaxRateSearch.SearchAsync(100, 1_000_000, 0.05, 60, (rate, full) =>
        {
            var passed = rate <= 1000 && !(rate == 1000 && ++repeatsAt1000 > 1);
            return Task.FromResult(new CapacityTrial(rate, passed, null, []) { Full = full });
        }, CancellationToken.None);

        // Two failed repeats demote it; as the new top of the bracket it then needs a third failure.
        Assert.Equal([true, false, false, false], result.Trials.Where(t => t.Rate == 1000).Select(t => t.Passed));
        Assert.InRange(result.MaxRate!.Value, 900, 999);
        Assert.True(result.LowestFailingRate <= 1000);
        Assert.True(result.Confirmed);
    }

    [Fact]
    public async Task On_a_noisy_machine_at_least_98_percent_of_searches_land_within_the_precision_of_the_capacity()
    {
        // Every trial has a 10% chance of being stalled by another process (failing whatever its rate), independently.
        // A search lands off only when a rate below the capacity fails by chance twice and then once more in its
        // repeats (about 1.5% of searches at this noise; 4 of these 300 do); the rest land within the 5% precision.
        // The single-trial search this replaced failed the whole search on any one stalled trial.
        var off = new List<string>();
        for (var seed = 0; seed < 300; seed++)
        {
            var random = new Random(seed);
            var result = await Search(2500, stalled: _ => random.NextDouble() < 0.1);
            if (result.MaxRate is not (>= 2500 * 0.95 and <= 2500))
            {
                off.Add($"seed {seed}: {result.MaxRate} ({result.StopReason})");
            }
        }
        Assert.True(off.Count <= 6, string.Join("\n", off));
    }

    [Fact]
    public async Task A_stalled_lowest_failing_rate_is_lifted_when_its_repeats_pass()
    {
        // 1600/s fails twice (stalled) although the capacity is 3000: the repeats at the bracket's top find it passing.
        var result = await Search(3000, stalled: n => n is 4 or 5);

        Assert.InRange(result.MaxRate!.Value, 3000 * 0.95, 3000);
        Assert.Contains(1600.0, result.NoisyRates);
        Assert.True(result.Trials.Count(t => t.Rate == 1600 && t.Passed) >= 3);
    }

    [Fact]
    public async Task When_nothing_passes_the_search_halves_down_to_one_request_per_second_and_reports_no_capacity()
    {
        var result = await Search(0.5, start: 64);

        Assert.Null(result.MaxRate);
        Assert.Equal([64.0, 32, 16, 8, 4, 2, 1], result.Trials.Select(t => t.Rate).Distinct());
        Assert.All(result.Trials.GroupBy(t => t.Rate), g => Assert.Equal(2, g.Count()));
        Assert.Contains("no rate from 1/s up meets the SLA", result.StopReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_search_stops_at_the_maximum_rate_or_the_trial_budget()
    {
        var capped = await Search(double.MaxValue, start: 100, max: 500);
        Assert.Equal([100.0, 200, 400, 500], capped.Trials.Select(t => t.Rate));
        Assert.Equal(500, capped.MaxRate);
        Assert.Null(capped.LowestFailingRate);
        Assert.Null(capped.Uncertainty);

        var budget = await Search(1234, trials: 6);
        Assert.Equal(6, budget.Trials.Count);
        Assert.Equal("stopped after 6 trials", budget.StopReason);
        Assert.Equal(800, budget.MaxRate);
        Assert.False(budget.Confirmed);
    }

    [Fact]
    public async Task An_interrupted_search_stops_before_its_next_trial()
    {
        using var cancellation = new CancellationTokenSource();
        var result = await MaxRateSearch.SearchAsync(100, 1_000_000, 0.05, 60, (rate, full) =>
        {
            cancellation.Cancel();
            return Task.FromResult(new CapacityTrial(rate, true, null, []) { Full = full });
        }, cancellation.Token);

        Assert.Single(result.Trials);
        Assert.Equal("interrupted", result.StopReason);
    }
}
