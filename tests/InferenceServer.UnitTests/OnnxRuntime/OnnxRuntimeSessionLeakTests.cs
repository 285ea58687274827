using System.Globalization;
using InferenceServer.OnnxRuntime;
using Xunit.Abstractions;

namespace InferenceServer.UnitTests.OnnxRuntime;

[Collection(OnnxRuntimeLeakCollection.Name)]
public sealed class OnnxRuntimeSessionLeakTests(ITestOutputHelper output)
{
    private const long AllowedGrowthBytes = 20L * 1024 * 1024;

    [Fact]
    public void Loading_running_and_disposing_a_session_1000_times_does_not_grow_memory()
    {
        var backend = new OnnxRuntimeBackend();
        var options = OnnxFixtures.Options(OnnxFixtures.AddSub, new Dictionary<string, string> { ["intra_op_thread_count"] = "1" });
        using var input0 = OnnxFixtures.Int32("INPUT0", [4, 16], new int[64]);
        using var input1 = OnnxFixtures.Int32("INPUT1", [4, 16], new int[64]);

        void Cycle()
        {
            using var instance = backend.CreateInstance(options);
            foreach (var tensor in instance.Run([input0, input1], ["OUTPUT0", "OUTPUT1"]))
            {
                tensor.Dispose();
            }
        }

        for (var i = 0; i < 50; i++)
        {
            Cycle();
        }
        var before = SettledResidentBytes();
        for (var i = 0; i < 1000; i++)
        {
            Cycle();
        }
        var after = SettledResidentBytes();

        output.WriteLine($"RSS after warm-up {before / 1024} KiB, after 1000 cycles {after / 1024} KiB, growth {(after - before) / 1024} KiB");
        Assert.True(after - before < AllowedGrowthBytes, $"RSS grew by {(after - before) / 1024} KiB over 1000 session cycles");
    }

    // Finalizers could still hold native sessions; collect twice so only true leaks remain resident.
    private static long SettledResidentBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kilobytes = line.AsSpan("VmRSS:".Length).Trim();
                kilobytes = kilobytes[..kilobytes.IndexOf(' ')];
                return long.Parse(kilobytes, CultureInfo.InvariantCulture) * 1024;
            }
        }
        throw new InvalidOperationException("no VmRSS line in /proc/self/status");
    }
}
