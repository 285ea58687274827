using InferenceServer.Core.Residency;

namespace InferenceServer.UnitTests.Residency;

/// <summary>How budgets are written: bytes, binary suffixes, fractions, and per GPU.</summary>
public sealed class MemorySizeTests
{
    [Theory]
    [InlineData("1048576", 1048576L)]
    [InlineData("512Mi", 512L * 1024 * 1024)]
    [InlineData("8Gi", 8L * 1024 * 1024 * 1024)]
    [InlineData("64ki", 64L * 1024)]
    public void Bytes_read(string text, long bytes)
    {
        Assert.True(MemorySize.TryParse(text, out var size, out _));
        Assert.Equal(bytes, size.Resolve(1));
    }

    [Fact]
    public void A_fraction_is_of_the_total()
    {
        Assert.True(MemorySize.TryParse("0.75", out var size, out _));
        Assert.Equal(750, size.Resolve(1000));
    }

    [Theory]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("1.5")]
    [InlineData("-5")]
    [InlineData("8GB")]
    [InlineData("lots")]
    public void Anything_else_is_refused_saying_what_is_expected(string text)
    {
        Assert.False(MemorySize.TryParse(text, out _, out var problem));
        Assert.Contains("a fraction of the total", problem);
    }

    [Fact]
    public void A_gpu_budget_names_its_device()
    {
        Assert.True(GpuMemoryBudget.TryParse("1:16Gi", out var budget, out _));
        Assert.Equal(1, budget.Device);
        Assert.Equal(16L << 30, budget.Size.Bytes);
        Assert.False(GpuMemoryBudget.TryParse("16Gi", out _, out var problem));
        Assert.Contains("<device>:<bytes|fraction>", problem);
    }
}
