using InferenceServer.OnnxRuntime;

namespace InferenceServer.UnitTests.OnnxRuntime;

/// <summary>What an ONNX Runtime instance reports holding: the model file's weights, the same for every instance of a model.</summary>
public sealed class OnnxRuntimeMemoryTests
{
    [Theory]
    [InlineData("add_sub.onnx")]
    [InlineData("instance_norm.onnx")]
    public void An_instance_reports_its_model_file_size(string fixture)
    {
        var path = Path.Combine(Path.GetDirectoryName(OnnxFixtures.AddSub)!, fixture);
        var backend = new OnnxRuntimeBackend();
        using var first = backend.CreateInstance(OnnxFixtures.Options(path));
        using var second = backend.CreateInstance(OnnxFixtures.Options(path));

        Assert.Equal(new FileInfo(path).Length, first.MemoryBytes);
        Assert.True(first.MemoryBytes > 0);
        Assert.Equal(first.MemoryBytes, second.MemoryBytes);
    }
}
