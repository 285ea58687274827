using InferenceServer.LoadTest.Load;

namespace InferenceServer.LoadTest.Tests.Load;

public sealed class ArrivalScheduleTests
{
    private static List<double> All(ArrivalSchedule schedule)
    {
        var times = new List<double>();
        while (schedule.TryNext(out var t))
        {
            times.Add(t);
        }
        return times;
    }

    [Fact]
    public void A_constant_rate_spaces_requests_evenly_from_time_zero()
    {
        var times = All(new ArrivalSchedule(LoadProfile.Constant(100, TimeSpan.FromSeconds(2)), ArrivalProcess.Constant));
        Assert.Equal(200, times.Count);
        for (var i = 0; i < times.Count; i++)
        {
            Assert.Equal(i / 100.0, times[i], 9);
        }
    }

    [Fact]
    public void A_ramp_places_arrivals_where_the_integral_of_the_rate_reaches_each_count()
    {
        // 0 → 100/s over 10 s: n arrivals by time t = 5 t², so arrival n is at √(n/5).
        var times = All(new ArrivalSchedule(new LoadProfile([new Stage(TimeSpan.FromSeconds(10), 100)]), ArrivalProcess.Constant));
        Assert.Equal(500, times.Count);
        Assert.Equal(0, times[0]);
        Assert.Equal(Math.Sqrt(20 / 5.0), times[20], 9);
        Assert.Equal(Math.Sqrt(499 / 5.0), times[499], 9);
        Assert.True(times.Zip(times.Skip(1)).All(pair => pair.Second > pair.First));
    }

    [Fact]
    public void Poisson_arrivals_keep_the_mean_rate_with_exponential_gaps()
    {
        var times = All(new ArrivalSchedule(LoadProfile.Constant(1000, TimeSpan.FromSeconds(100)), ArrivalProcess.Poisson, seed: 11));
        // 100,000 expected; the standard deviation of a Poisson count is √100,000 ≈ 316.
        Assert.InRange(times.Count, 99_000, 101_000);
        var gaps = times.Zip(times.Skip(1), (a, b) => b - a).ToList();
        var mean = gaps.Average();
        var deviation = Math.Sqrt(gaps.Average(g => (g - mean) * (g - mean)));
        Assert.InRange(mean, 0.00099, 0.00101);
        // An exponential's coefficient of variation is 1 (a constant schedule's is 0).
        Assert.InRange(deviation / mean, 0.97, 1.03);
        // Memoryless: about e^-1 of the gaps exceed the mean.
        Assert.InRange(gaps.Count(g => g > mean) / (double)gaps.Count, 0.36, 0.38);
    }

    [Fact]
    public void The_same_seed_gives_the_same_poisson_schedule()
    {
        var profile = LoadProfile.Constant(500, TimeSpan.FromSeconds(1));
        Assert.Equal(All(new ArrivalSchedule(profile, ArrivalProcess.Poisson, seed: 5)), All(new ArrivalSchedule(profile, ArrivalProcess.Poisson, seed: 5)));
        Assert.NotEqual(All(new ArrivalSchedule(profile, ArrivalProcess.Poisson, seed: 5)), All(new ArrivalSchedule(profile, ArrivalProcess.Poisson, seed: 6)));
    }
}
