using InferenceServer.LoadTest.Cli;
using InferenceServer.LoadTest.Load;

namespace InferenceServer.LoadTest.Tests.Cli;

public sealed class DurationTextTests
{
    [Theory]
    [InlineData("30s", 30_000)]
    [InlineData("500ms", 500)]
    [InlineData("2m", 120_000)]
    [InlineData("1m30s", 90_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("250us", 0.25)]
    [InlineData("1.5s", 1_500)]
    [InlineData("10", 10_000)]
    [InlineData("0", 0)]
    public void Durations_parse_with_units_and_chains(string text, double milliseconds) =>
        Assert.Equal(milliseconds, DurationText.Parse(text, "--duration").TotalMilliseconds, 6);

    [Theory]
    [InlineData("")]
    [InlineData("s")]
    [InlineData("10 parsecs")]
    [InlineData("-5s")]
    [InlineData("5d")]
    public void Malformed_durations_are_usage_errors(string text)
    {
        var error = Assert.Throws<UsageException>(() => DurationText.Parse(text, "--duration"));
        Assert.StartsWith("--duration:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Stages_parse_into_duration_and_target_pairs()
    {
        var stages = StagesText.Parse("10s:100, 20s:500,0s:50,1m:50");
        Assert.Equal([new Stage(TimeSpan.FromSeconds(10), 100), new Stage(TimeSpan.FromSeconds(20), 500), new Stage(TimeSpan.Zero, 50), new Stage(TimeSpan.FromMinutes(1), 50)], stages);
        Assert.Equal("10s:100,20s:500,0s:50,1m:50", StagesText.Format(stages));
    }

    [Theory]
    [InlineData("10s", "not duration:target")]
    [InlineData("10s:", "not duration:target")]
    [InlineData("10s:-1", "not a non-negative number")]
    [InlineData("ten:100", "not a duration")]
    [InlineData("0s:100", "no time at all")]
    [InlineData(",", "no stages")]
    public void Malformed_stages_are_usage_errors(string text, string message)
    {
        var error = Assert.Throws<UsageException>(() => StagesText.Parse(text));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
