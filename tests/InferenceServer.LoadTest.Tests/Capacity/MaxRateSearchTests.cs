using InferenceServer.LoadTest.Capacity;

namespace InferenceServer.LoadTest.Tests.Capacity;

public sealed class MaxRateSearchTests
{
    private static Task<CapacityResult> Search(double capacity, double start = 100, double max = 1_000_000, double precision = 0.05, int trials = 30) =>
        MaxRateSearch.SearchAsync(start, max, precision, trials, rate => Task.FromResult(new CapacityTrial(rate, rate <= capacity, null, [])), CancellationToken.None);

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
    }

    [Fact]
    public async Task Rates_double_from_the_start_until_one_fails_then_bisect()
    {
        var result = await Search(1000, start: 100);
        var rates = result.Trials.Select(t => t.Rate).ToList();

        Assert.Equal([100.0, 200, 400, 800, 1600, 1200, 1000, 1100], rates.Take(8));
    }

    [Fact]
    public async Task When_nothing_passes_the_search_halves_down_to_one_request_per_second_and_reports_no_capacity()
    {
        var result = await Search(0.5, start: 64);

        Assert.Null(result.MaxRate);
        Assert.Equal([64.0, 32, 16, 8, 4, 2, 1], result.Trials.Select(t => t.Rate));
        Assert.Contains("no rate from 1/s up meets the SLA", result.StopReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_search_stops_at_the_maximum_rate_or_the_trial_budget()
    {
        var capped = await Search(double.MaxValue, start: 100, max: 500);
        Assert.Equal([100.0, 200, 400, 500], capped.Trials.Select(t => t.Rate));
        Assert.Equal(500, capped.MaxRate);
        Assert.Null(capped.LowestFailingRate);

        var budget = await Search(1234, trials: 4);
        Assert.Equal(4, budget.Trials.Count);
        Assert.Equal("stopped after 4 trials", budget.StopReason);
        Assert.Equal(800, budget.MaxRate);
    }
}
