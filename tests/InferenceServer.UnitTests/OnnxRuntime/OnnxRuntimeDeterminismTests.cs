using System.Runtime.InteropServices;
using System.Security.Cryptography;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Tensors;
using InferenceServer.OnnxRuntime;
using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;

namespace InferenceServer.UnitTests.OnnxRuntime;

/// <summary>
/// Identical requests must give bit-identical answers. ONNX Runtime's vectorized reductions depend on
/// where their input starts in memory, so these run the same values from many differently placed
/// pooled buffers, as the server's decoders rent them, and compare the outputs byte for byte.
/// </summary>
public sealed class OnnxRuntimeDeterminismTests
{
    public static TheoryData<string, long[]> Models => new()
    {
        { OnnxFixtures.EinsumReduce, [4, 8, 1003] },
        { OnnxFixtures.InstanceNorm, [4, 4, 1003] },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void Identical_requests_in_pooled_tensors_give_bit_identical_outputs(string model, long[] shape)
    {
        foreach (var threads in new[] { "1", "2" })
        {
            using var instance = new OnnxRuntimeBackend().CreateInstance(
                OnnxFixtures.Options(model, new Dictionary<string, string> { ["intra_op_thread_count"] = threads }));
            var values = Values(shape);
            var answers = new HashSet<string>(StringComparer.Ordinal);
            var held = new List<Tensor>();
            try
            {
                for (var request = 0; request < 24; request++)
                {
                    // Each input is kept, as a request still in flight would be, so the next one gets another
                    // array. With the shared ArrayPool this gave two answers (arrays at 0 and 8 mod 16).
                    var input = Tensor.Copy("X", DataType.Fp32, shape, MemoryMarshal.AsBytes(values.AsSpan()));
                    held.Add(input);
                    var outputs = instance.Run([input], ["Y"]);
                    using var output = Assert.Single(outputs);
                    answers.Add(Convert.ToHexString(SHA256.HashData(output.Data)));
                }
            }
            finally
            {
                foreach (var tensor in held)
                {
                    tensor.Dispose();
                }
            }
            Assert.Single(answers);
        }
    }

    // Why the pool aligns: the same values read from addresses 4 bytes apart give different bits, so an
    // unaligned pool (the shared ArrayPool starts arrays 8-byte aligned, anywhere) answers identical
    // requests differently. If a future ONNX Runtime stops doing this, the aligned pool can be reconsidered.
    [Theory]
    [MemberData(nameof(Models))]
    public unsafe void The_same_values_at_unaligned_addresses_give_different_bits(string model, long[] shape)
    {
        using var session = new InferenceSession(model);
        var values = Values(shape);
        var bytes = values.Length * sizeof(float);
        var block = (byte*)NativeMemory.AlignedAlloc((nuint)(bytes + 64), 64);
        var answers = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            for (var offset = 0; offset < 64; offset += sizeof(float))
            {
                values.AsSpan().CopyTo(new Span<float>(block + offset, values.Length));
                using var input = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, shape, (nint)(block + offset), bytes);
                using var runOptions = new RunOptions();
                using var outputs = session.Run(runOptions, ["X"], [input], ["Y"]);
                answers.Add(Convert.ToHexString(SHA256.HashData(outputs[0].GetTensorDataAsSpan<byte>())));
            }
        }
        finally
        {
            NativeMemory.AlignedFree(block);
        }
        Assert.True(answers.Count > 1, "ONNX Runtime gave the same bits at every alignment");
    }

    private static float[] Values(long[] shape)
    {
        var random = new Random(7);
        var values = new float[ShapeMath.ElementCount(shape)];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)((random.NextDouble() * 2) - 1) * 1000f;
        }
        return values;
    }
}
