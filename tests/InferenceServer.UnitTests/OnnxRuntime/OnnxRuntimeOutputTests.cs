using System.Runtime.InteropServices;
using InferenceServer.Core.Tensors;
using InferenceServer.OnnxRuntime;

namespace InferenceServer.UnitTests.OnnxRuntime;

/// <summary>Outputs written straight into pooled tensors when their shape follows from the inputs, and the fallback when it does not.</summary>
public sealed class OnnxRuntimeOutputTests
{
    [Fact]
    public void Outputs_with_shapes_known_from_the_inputs_come_back_aligned_and_right()
    {
        using var instance = (OnnxRuntimeInstance)new OnnxRuntimeBackend().CreateInstance(OnnxFixtures.Options(OnnxFixtures.EinsumReduce));
        var values = new float[2 * 3 * 5];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = i;
        }
        using var input = Tensor.Copy("X", DataType.Fp32, [2, 3, 5], MemoryMarshal.AsBytes(values.AsSpan()));
        var outputs = instance.Run([input], ["Y"]);
        using var output = Assert.Single(outputs);
        Assert.Equal(new long[] { 2, 3 }, output.Shape);
        Assert.Equal(new float[] { 10, 35, 60, 85, 110, 135 }, MemoryMarshal.Cast<byte, float>(output.Data).ToArray());
        Assert.True(instance.PredictsOutputShapes);
        unsafe
        {
            fixed (byte* data = output.Data)
            {
                Assert.Equal(0, (long)data % 64);
            }
        }
    }

    [Fact]
    public void A_model_whose_output_breaks_its_declared_shape_still_answers()
    {
        using var instance = (OnnxRuntimeInstance)new OnnxRuntimeBackend().CreateInstance(OnnxFixtures.Options(OnnxFixtures.MisdeclaredShape));
        Assert.True(instance.PredictsOutputShapes);
        for (var run = 0; run < 3; run++)
        {
            using var input = Tensor.Copy("X", DataType.Fp32, [2], MemoryMarshal.AsBytes<float>([1f, 2f]));
            var outputs = instance.Run([input], ["Y"]);
            using var output = Assert.Single(outputs);
            Assert.Equal(new long[] { 4 }, output.Shape);
            Assert.Equal(new float[] { 1, 2, 1, 2 }, MemoryMarshal.Cast<byte, float>(output.Data).ToArray());
            // ONNX Runtime refused the pre-allocated [2] output on the first run; the instance stopped predicting.
            Assert.False(instance.PredictsOutputShapes);
        }
    }
}
