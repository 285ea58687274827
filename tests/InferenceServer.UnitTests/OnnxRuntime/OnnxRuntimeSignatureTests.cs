using InferenceServer.Core.Backends;
using InferenceServer.Core.Tensors;
using InferenceServer.OnnxRuntime;

namespace InferenceServer.UnitTests.OnnxRuntime;

public sealed class OnnxRuntimeSignatureTests
{
    [Fact]
    public void Backend_names_match_triton()
    {
        var backend = new OnnxRuntimeBackend();
        Assert.Equal("onnxruntime", backend.Name);
        Assert.Equal("onnxruntime_onnx", backend.Platform);
        Assert.Equal("model.onnx", backend.DefaultModelFilename);
    }

    [Fact]
    public void Identity_model_declares_every_type_with_dynamic_dims()
    {
        using var instance = new OnnxRuntimeBackend().CreateInstance(OnnxFixtures.Options(OnnxFixtures.IdentityAll));
        var signature = instance.Signature;
        Assert.Equal(IdentityCases.All.Length, signature.Inputs.Count);
        Assert.Equal(IdentityCases.All.Length, signature.Outputs.Count);
        for (var i = 0; i < IdentityCases.All.Length; i++)
        {
            var (suffix, type) = IdentityCases.All[i];
            Assert.Equal("IN_" + suffix, signature.Inputs[i].Name);
            Assert.Equal(type, signature.Inputs[i].DataType);
            Assert.Equal(new long[] { -1, -1 }, signature.Inputs[i].Shape);
            Assert.Equal("OUT_" + suffix, signature.Outputs[i].Name);
            Assert.Equal(type, signature.Outputs[i].DataType);
            Assert.Equal(new long[] { -1, -1 }, signature.Outputs[i].Shape);
        }
    }

    [Fact]
    public void Add_sub_declares_int32_with_fixed_inner_dim()
    {
        using var instance = new OnnxRuntimeBackend().CreateInstance(OnnxFixtures.Options(OnnxFixtures.AddSub));
        Assert.Equal(
            new[] { "INPUT0", "INPUT1" },
            new[] { instance.Signature.Inputs[0].Name, instance.Signature.Inputs[1].Name });
        Assert.Equal(
            new[] { "OUTPUT0", "OUTPUT1" },
            new[] { instance.Signature.Outputs[0].Name, instance.Signature.Outputs[1].Name });
        foreach (var info in instance.Signature.Inputs)
        {
            Assert.Equal(DataType.Int32, info.DataType);
            Assert.Equal(new long[] { -1, 16 }, info.Shape);
        }
    }
}
