using InferenceServer.Core.Monitoring;

namespace InferenceServer.UnitTests.Monitoring;

public sealed class HostResourcesTests
{
    [Fact]
    public void CpuLineSplitsBusyFromIdleAndIowait()
    {
        // user nice system idle iowait irq softirq steal guest guest_nice
        Assert.True(HostResources.TryParseCpuLine("cpu  100 20 30 400 50 6 4 0 70 0", out var times));
        Assert.Equal(new CpuTimes(160, 610), times);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("cpu0 1 2 3 4 5")]
    [InlineData("cpu  1 2 x 4 5")]
    [InlineData("cpu  1 2")]
    public void MalformedCpuLinesAreRefused(string? line) => Assert.False(HostResources.TryParseCpuLine(line, out _));

    [Fact]
    public void MemInfoGivesTotalAndTotalMinusAvailable()
    {
        const string Text = "MemTotal:       16000000 kB\nMemFree:         1000000 kB\nMemAvailable:    6000000 kB\nBuffers:          100 kB\n";
        Assert.True(HostResources.TryParseMemInfo(Text, out var total, out var used));
        Assert.Equal(16_000_000L * 1024, total);
        Assert.Equal(10_000_000L * 1024, used);
        Assert.False(HostResources.TryParseMemInfo("MemTotal: 10 kB\n", out _, out _));
    }

    [Fact]
    public void ThisMachineIsReadableOnLinux()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        Assert.True(HostResources.TryReadCpuTimes(out var cpu));
        Assert.InRange(cpu.Busy, 0, cpu.Total);
        Assert.True(HostResources.TryReadMemory(out var total, out var used));
        Assert.InRange(used, 1, total);
    }
}
