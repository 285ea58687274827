using System.Runtime.InteropServices;
using InferenceServer.Core.Devices;
using InferenceServer.FunctionalTests.Grpc;
using InferenceServer.Hosting;

namespace InferenceServer.FunctionalTests.Hosting;

/// <summary>
/// The NVML reader on the machine the tests run on. Without the driver (the usual test machine) it must report no
/// devices, say why in one line and never throw; with one, every device it lists must be readable.
/// </summary>
public sealed class NvmlGpuDevicesTests
{
    [Fact]
    public void OpensWithoutThrowingAndReportsWhatTheMachineHas()
    {
        var log = new CapturedLog();
        var gpus = NvmlGpuDevices.Open(log.CreateLogger("nvml"));
        try
        {
            var lines = log.Entries.Select(e => e.Message).ToList();
            if (gpus.Devices.Count == 0)
            {
                Assert.Same(NoGpuDevices.Instance, gpus);
                var line = Assert.Single(lines);
                Assert.StartsWith("No GPU: ", line, StringComparison.Ordinal);
                if (!NativeLibrary.TryLoad(Nvml.Library, out _))
                {
                    Assert.Contains("libnvidia-ml.so.1 was not found", line, StringComparison.Ordinal);
                }
                Assert.False(gpus.TryReadMemory(0, out _));
                Assert.False(gpus.TryReadUtilization(0, out _));
                return;
            }
            Assert.Equal(gpus.Devices.Count, lines.Count);
            for (var i = 0; i < gpus.Devices.Count; i++)
            {
                Assert.Equal(i, gpus.Devices[i].Index);
                Assert.StartsWith("GPU-", gpus.Devices[i].Uuid, StringComparison.Ordinal);
                Assert.True(gpus.TryReadMemory(i, out var memory));
                Assert.InRange(memory.UsedBytes, 0, memory.TotalBytes);
                Assert.True(gpus.TryReadUtilization(i, out var utilization));
                Assert.InRange(utilization, 0, 1);
            }
            Assert.False(gpus.TryReadMemory(gpus.Devices.Count, out _));
            Assert.False(gpus.TryReadUtilization(-1, out _));
        }
        finally
        {
            (gpus as IDisposable)?.Dispose();
        }
    }
}
