using System.Diagnostics;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Tensors;
using InferenceServer.OnnxRuntime;
using Xunit.Abstractions;

namespace InferenceServer.UnitTests.OnnxRuntime;

public sealed class OnnxRuntimeAddSubTests(ITestOutputHelper output)
{
    [Fact]
    public void Computes_sum_and_difference()
    {
        using var instance = new OnnxRuntimeBackend().CreateInstance(OnnxFixtures.Options(OnnxFixtures.AddSub));
        var (a, b) = Operands(rows: 3);
        using var input0 = OnnxFixtures.Int32("INPUT0", [3, 16], a);
        using var input1 = OnnxFixtures.Int32("INPUT1", [3, 16], b);

        var outputs = instance.Run([input0, input1], ["OUTPUT0", "OUTPUT1"]);
        try
        {
            Assert.Equal(new long[] { 3, 16 }, outputs[0].Shape);
            Assert.Equal(new long[] { 3, 16 }, outputs[1].Shape);
            var sum = OnnxFixtures.ReadInt32(outputs[0]);
            var difference = OnnxFixtures.ReadInt32(outputs[1]);
            for (var i = 0; i < a.Length; i++)
            {
                Assert.Equal(unchecked(a[i] + b[i]), sum[i]);
                Assert.Equal(unchecked(a[i] - b[i]), difference[i]);
            }
        }
        finally
        {
            outputs[0].Dispose();
            outputs[1].Dispose();
        }
    }

    [Fact]
    public void Inputs_may_come_in_any_order_and_outputs_may_be_a_subset()
    {
        using var instance = new OnnxRuntimeBackend().CreateInstance(OnnxFixtures.Options(OnnxFixtures.AddSub));
        var (a, b) = Operands(rows: 1);
        using var input0 = OnnxFixtures.Int32("INPUT0", [1, 16], a);
        using var input1 = OnnxFixtures.Int32("INPUT1", [1, 16], b);

        var outputs = instance.Run([input1, input0], ["OUTPUT1"]);
        using var difference = Assert.Single(outputs);
        Assert.Equal("OUTPUT1", difference.Name);
        var values = OnnxFixtures.ReadInt32(difference);
        for (var i = 0; i < a.Length; i++)
        {
            Assert.Equal(a[i] - b[i], values[i]);
        }
    }

    [Fact]
    public void Session_parameters_are_accepted()
    {
        var parameters = new Dictionary<string, string>
        {
            ["intra_op_thread_count"] = "1",
            ["inter_op_thread_count"] = "1",
            ["execution_mode"] = "1",
            ["enable_mem_arena"] = "false",
            ["enable_mem_pattern"] = "OFF",
        };
        var options = OnnxFixtures.Options(OnnxFixtures.AddSub, parameters) with { GraphOptimizationLevel = -1 };
        using var instance = new OnnxRuntimeBackend().CreateInstance(options);
        var (a, b) = Operands(rows: 2);
        using var input0 = OnnxFixtures.Int32("INPUT0", [2, 16], a);
        using var input1 = OnnxFixtures.Int32("INPUT1", [2, 16], b);
        var outputs = instance.Run([input0, input1], ["OUTPUT0"]);
        using var sum = Assert.Single(outputs);
        Assert.Equal(a[5] + b[5], OnnxFixtures.ReadInt32(sum)[5]);
    }

    [Fact]
    public void Two_instances_run_concurrently()
    {
        var backend = new OnnxRuntimeBackend();
        var one = OnnxFixtures.Options(OnnxFixtures.AddSub, new Dictionary<string, string> { ["intra_op_thread_count"] = "1" });
        using var first = backend.CreateInstance(one);
        using var second = backend.CreateInstance(one);
        var failures = 0;

        void Drive(IModelInstance instance, int seed)
        {
            for (var iteration = 0; iteration < 500; iteration++)
            {
                var (a, b) = Operands(rows: 1 + ((seed + iteration) % 8), seed: seed + iteration);
                var rows = a.Length / 16;
                using var input0 = OnnxFixtures.Int32("INPUT0", [rows, 16], a);
                using var input1 = OnnxFixtures.Int32("INPUT1", [rows, 16], b);
                var outputs = instance.Run([input0, input1], ["OUTPUT0", "OUTPUT1"]);
                var sum = OnnxFixtures.ReadInt32(outputs[0]);
                var difference = OnnxFixtures.ReadInt32(outputs[1]);
                outputs[0].Dispose();
                outputs[1].Dispose();
                for (var i = 0; i < a.Length; i++)
                {
                    if (sum[i] != a[i] + b[i] || difference[i] != a[i] - b[i])
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
            }
        }

        Parallel.Invoke(() => Drive(first, 1), () => Drive(second, 100_000));
        Assert.Equal(0, failures);
    }

    [Fact]
    public void Quick_throughput_figure()
    {
        using var instance = new OnnxRuntimeBackend().CreateInstance(
            OnnxFixtures.Options(OnnxFixtures.AddSub, new Dictionary<string, string> { ["intra_op_thread_count"] = "1" }));
        var (a, b) = Operands(rows: 8);
        using var input0 = OnnxFixtures.Int32("INPUT0", [8, 16], a);
        using var input1 = OnnxFixtures.Int32("INPUT1", [8, 16], b);
        Tensor[] inputs = [input0, input1];
        string[] names = ["OUTPUT0", "OUTPUT1"];
        for (var i = 0; i < 200; i++)
        {
            DisposeAll(instance.Run(inputs, names));
        }

        const int Runs = 5_000;
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < Runs; i++)
        {
            DisposeAll(instance.Run(inputs, names));
        }
        clock.Stop();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        output.WriteLine($"add_sub [8,16]: {Runs / clock.Elapsed.TotalSeconds:F0} runs/s, {allocated / Runs} managed bytes allocated per run");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60));
    }

    private static void DisposeAll(Tensor[] tensors)
    {
        foreach (var tensor in tensors)
        {
            tensor.Dispose();
        }
    }

    private static (int[] A, int[] B) Operands(int rows, int seed = 42)
    {
        var random = new Random(seed);
        var a = new int[rows * 16];
        var b = new int[rows * 16];
        for (var i = 0; i < a.Length; i++)
        {
            a[i] = random.Next(-1_000_000, 1_000_000);
            b[i] = random.Next(-1_000_000, 1_000_000);
        }
        return (a, b);
    }
}
