using InferenceServer.Core.Repository.TextFormat;

namespace InferenceServer.UnitTests.Repository.TextFormat;

public sealed class TextScalarsTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("42", 42L)]
    [InlineData("-1", -1L)]
    [InlineData("0x1F", 31L)]
    [InlineData("-0x10", -16L)]
    [InlineData("017", 15L)]
    [InlineData("-017", -15L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    [InlineData("-9223372036854775808", long.MinValue)]
    [InlineData("0x7fffffffffffffff", long.MaxValue)]
    public void Parses_integers(string text, long expected)
    {
        Assert.True(TextScalars.TryParseInt64(text, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("9223372036854775808")]
    [InlineData("-9223372036854775809")]
    [InlineData("0xffffffffffffffffff")]
    [InlineData("1.5")]
    [InlineData("abc")]
    [InlineData("08")]
    public void Rejects_non_integers_and_out_of_range(string text)
    {
        Assert.False(TextScalars.TryParseInt64(text, out _));
    }

    [Theory]
    [InlineData("1e-3", 0.001)]
    [InlineData("-2.5", -2.5)]
    [InlineData("1.5f", 1.5)]
    [InlineData(".25", 0.25)]
    [InlineData("7", 7.0)]
    [InlineData("0x10", 16.0)]
    public void Parses_floats(string text, double expected)
    {
        Assert.True(TextScalars.TryParseDouble(text, out var value));
        Assert.Equal(expected, value, 12);
    }

    [Theory]
    [InlineData("inf", double.PositiveInfinity)]
    [InlineData("-inf", double.NegativeInfinity)]
    [InlineData("Infinity", double.PositiveInfinity)]
    [InlineData("-INF", double.NegativeInfinity)]
    public void Parses_infinities(string text, double expected)
    {
        Assert.True(TextScalars.TryParseDouble(text, out var value));
        Assert.Equal(expected, value);
    }

    [Fact]
    public void Parses_nan()
    {
        Assert.True(TextScalars.TryParseDouble("nan", out var value));
        Assert.True(double.IsNaN(value));
    }

    [Theory]
    [InlineData(false, "true", true)]
    [InlineData(false, "True", true)]
    [InlineData(false, "t", true)]
    [InlineData(true, "1", true)]
    [InlineData(false, "false", false)]
    [InlineData(false, "False", false)]
    [InlineData(false, "f", false)]
    [InlineData(true, "0", false)]
    public void Parses_booleans(bool isInteger, string text, bool expected)
    {
        Assert.True(TextScalars.TryParseBool(Kind(isInteger), text, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData(false, "TRUE")]
    [InlineData(false, "yes")]
    [InlineData(true, "2")]
    
    public void Rejects_non_booleans(bool isInteger, string text)
    {
        Assert.False(TextScalars.TryParseBool(Kind(isInteger), text, out _));
    }

    [Fact]
    public void Strings_are_not_booleans()
    {
        Assert.False(TextScalars.TryParseBool(TextValueKind.String, "true", out _));
    }

    private static TextValueKind Kind(bool isInteger) => isInteger ? TextValueKind.Integer : TextValueKind.Identifier;
}
