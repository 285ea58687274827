using InferenceServer.Core.Backends;

namespace InferenceServer.UnitTests.Repository.AutoComplete;

/// <summary>A backend that only names itself: completion needs its names, never an instance.</summary>
internal sealed class FakeBackend : IModelBackend
{
    public string Name => "onnxruntime";

    public string Platform => "onnxruntime_onnx";

    public string DefaultModelFilename => "model.onnx";

    public IModelInstance CreateInstance(InstanceOptions options) => throw new NotSupportedException("completion never creates instances");
}
