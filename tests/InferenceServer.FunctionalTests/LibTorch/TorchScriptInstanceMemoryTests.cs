using System.Diagnostics;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Tensors;
using InferenceServer.LibTorch;
using Xunit.Abstractions;
using static InferenceServer.FunctionalTests.LibTorch.TorchScriptRepository;

namespace InferenceServer.FunctionalTests.LibTorch;

/// <summary>
/// Every LibTorch tensor a run makes is freed when the run ends: the process's resident memory stays flat over many runs
/// whose tensors, were they kept, would add up to gigabytes.
/// </summary>
public sealed class TorchScriptInstanceMemoryTests(ITestOutputHelper output)
{
    private const int Width = 4096;

    [Fact]
    public void ManyRunsLeaveResidentMemoryFlat()
    {
        using var repository = new TestRepository().Add("all_types", AllTypesConfig(), Fixture("all_types.pt"), "model.pt");
        // What all_types' config declares (max_batch_size 8, dims [ -1 ]), as the loader passes it.
        var declared = new ModelSignature(
            [.. Types.Select((t, i) => new TensorInfo($"INPUT__{i}", Type(t), [-1, -1]))],
            [.. Types.Select((t, i) => new TensorInfo($"OUTPUT__{i}", Type(t), [-1, -1]))]);
        using var instance = new LibTorchBackend().CreateInstance(
            new InstanceOptions(Path.Combine(repository.Path, "all_types", "1", "model.pt"), InstanceKind.Cpu, 0, new Dictionary<string, string> { ["intra_op_thread_count"] = "1" })
            {
                Declared = declared,
            });
        var inputs = Types.Select((t, i) => Input(i, t)).ToArray();
        var outputNames = Types.Select((_, i) => $"OUTPUT__{i}").ToArray();
        // About 1 MiB of inputs and as much of outputs per run.
        var perRun = inputs.Sum(t => t.ByteLength) * 2L;

        Run(instance, inputs, outputNames, 50);
        var before = ResidentBytes();
        Run(instance, inputs, outputNames, 600);
        var after = ResidentBytes();

        foreach (var input in inputs)
        {
            input.Dispose();
        }
        output.WriteLine($"resident before {before >> 20} MiB, after 600 more runs {after >> 20} MiB; the runs made {perRun * 600 >> 20} MiB of tensors");
        Assert.True(after - before < 64L << 20, $"resident memory grew by {(after - before) >> 20} MiB over 600 runs");
    }

    private static void Run(IModelInstance instance, Tensor[] inputs, string[] outputNames, int times)
    {
        for (var i = 0; i < times; i++)
        {
            var results = instance.Run(inputs, outputNames);
            Assert.Equal(outputNames.Length, results.Length);
            foreach (var result in results)
            {
                Assert.Equal([8L, Width], result.Shape);
                result.Dispose();
            }
        }
    }

    private static Tensor Input(int index, string datatype)
    {
        var type = Type(datatype);
        var bytes = new byte[8 * Width * type.ElementSize()];
        if (type == DataType.Bool)
        {
            Array.Fill(bytes, (byte)1);
        }
        return Tensor.Copy($"INPUT__{index}", type, [8, Width], bytes);
    }

    private static DataType Type(string datatype)
    {
        Assert.True(DataTypes.TryParseProtocolName(datatype, out var type));
        return type;
    }

    private static long ResidentBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }
}
