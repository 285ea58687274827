using InferenceServer.Grpc;

namespace InferenceServer.UnitTests.Grpc;

public sealed class GrpcTimeoutTests
{
    [Theory]
    [InlineData("1H", 36_000_000_000L)]
    [InlineData("2M", 1_200_000_000L)]
    [InlineData("30S", 300_000_000L)]
    [InlineData("250m", 2_500_000L)]
    [InlineData("7u", 70L)]
    [InlineData("1000n", 10L)]
    [InlineData("1n", 1L)]
    [InlineData("0m", 0L)]
    [InlineData("99999999S", 999_999_990_000_000L)]
    [InlineData("99999999H", 3_599_999_964_000_000_000L)]
    public void Parses_every_unit(string value, long ticks)
    {
        Assert.True(GrpcTimeout.TryParse(value, out var timeout));
        Assert.Equal(ticks, timeout.Ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("10")]
    [InlineData("123456789S")]
    [InlineData("10s")]
    [InlineData("10h")]
    [InlineData("1.5S")]
    [InlineData("-1S")]
    [InlineData(" 1S")]
    [InlineData("1 S")]
    [InlineData("１S")]
    public void Refuses_what_the_grammar_does_not_allow(string value)
    {
        Assert.False(GrpcTimeout.TryParse(value, out _));
    }

    [Theory]
    [InlineData(1L, "100n")]
    [InlineData(999_999L, "99999900n")]
    [InlineData(1_000_000L, "100000u")]
    [InlineData(50_000_000L, "5000000u")]
    [InlineData(36_000_000_000L, "3600000m")]
    public void Formats_in_the_finest_unit_that_fits(long ticks, string value)
    {
        var formatted = GrpcTimeout.Format(TimeSpan.FromTicks(ticks));
        Assert.Equal(value, formatted);
        Assert.True(GrpcTimeout.TryParse(formatted, out var back));
        Assert.Equal(ticks, back.Ticks);
    }
}
