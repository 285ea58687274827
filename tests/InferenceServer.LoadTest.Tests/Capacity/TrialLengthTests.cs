using InferenceServer.LoadTest.Capacity;
using InferenceServer.LoadTest.Sla;

namespace InferenceServer.LoadTest.Tests.Capacity;

public sealed class TrialLengthTests
{
    [Theory]
    [InlineData("p99<10ms", 10_000)]
    [InlineData("p99.9<10ms", 100_000)]
    [InlineData("p50<1ms", 200)]
    [InlineData("p50<1ms,p99<5ms,errors<1%", 10_000)]
    [InlineData("max<100ms", 100_000)]
    [InlineData("p100<100ms", 100_000)]
    [InlineData("errors<1%,throughput>=100", 0)]
    public void A_full_trial_wants_a_hundred_samples_past_the_highest_percentile(string sla, long samples) =>
        Assert.Equal(samples, TrialLength.SamplesFor(SlaParser.Parse(sla)));

    [Theory]
    [InlineData(3000, 10_000, 5)]      // 3.3 s of samples: the minimum
    [InlineData(1000, 10_000, 10)]     // exactly what the samples take
    [InlineData(100, 10_000, 60)]      // 100 s of samples: the maximum
    [InlineData(100, 0, 5)]            // no percentile: the minimum
    public void A_trial_lasts_as_long_as_its_samples_take_between_the_minimum_and_the_maximum(double rate, long samples, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), TrialLength.Duration(rate, samples, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60)));

    [Theory]
    [InlineData(8000, 10_000, 20)]     // p99: a 200 ms stall is 1% of 20 s, though the samples take 1.25 s
    [InlineData(200, 10_000, 50)]      // the samples take longer than that
    [InlineData(8000, 100_000, 60)]    // p99.9 would want 200 s: the maximum
    [InlineData(8000, 200, 5)]         // p50 (200 samples): 0.4 s, so the minimum
    [InlineData(8000, 0, 5)]           // no percentile: the minimum
    public void A_full_trial_lasts_long_enough_that_one_stall_cannot_decide_its_percentile(double rate, long samples, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), TrialLength.FullDuration(rate, samples, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60)));
}
