using InferenceServer.Core.Backends;
using InferenceServer.Core.Quantization;
using InferenceServer.OnnxRuntime;

namespace InferenceServer.FunctionalTests.Quantization;

/// <summary>Real ONNX Runtime whose quantizer is the deliberately broken <see cref="NegatedWeightsQuantizer"/>.</summary>
internal sealed class BrokenQuantizerBackend : IModelBackend
{
    private readonly OnnxRuntimeBackend _runtime;

    public BrokenQuantizerBackend()
    {
        _runtime = new OnnxRuntimeBackend();
        Broken = new NegatedWeightsQuantizer(_runtime.Quantizer);
    }

    public NegatedWeightsQuantizer Broken { get; }

    public string Name => _runtime.Name;

    public string Platform => _runtime.Platform;

    public string DefaultModelFilename => _runtime.DefaultModelFilename;

    public bool TextStrings => _runtime.TextStrings;

    public IModelInstance CreateInstance(InstanceOptions options) => _runtime.CreateInstance(options);

    public IModelQuantizer? Quantizer => Broken;
}
