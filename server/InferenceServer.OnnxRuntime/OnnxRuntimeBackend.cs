using InferenceServer.Core.Backends;

namespace InferenceServer.OnnxRuntime;

/// <summary>
/// Runs ONNX models with ONNX Runtime through its C API. The native library is loaded on the first
/// <see cref="CreateInstance"/>; all instances share one ONNX Runtime environment.
/// </summary>
public sealed class OnnxRuntimeBackend : IModelBackend
{
    /// <inheritdoc />
    public string Name => "onnxruntime";

    /// <inheritdoc />
    public string Platform => "onnxruntime_onnx";

    /// <inheritdoc />
    public string DefaultModelFilename => "model.onnx";

    /// <inheritdoc />
    public IModelInstance CreateInstance(InstanceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return OnnxRuntimeInstance.Create(options);
    }
}
