using InferenceServer.Core.Backends;

namespace InferenceServer.OnnxRuntime;

/// <summary>
/// Runs ONNX models with ONNX Runtime through its official managed API (Microsoft.ML.OnnxRuntime,
/// or Microsoft.ML.OnnxRuntime.Gpu.Linux in the GPU build). The native library is loaded on first
/// use; all instances share one ONNX Runtime environment.
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
    /// <remarks>
    /// ONNX defines each element of a string tensor as UTF-8 text (onnx.proto, <c>TensorProto.string_data</c>), and ONNX
    /// Runtime's string operators (StringNormalizer, RegexFullMatch, ...) refuse anything else.
    /// </remarks>
    public bool TextStrings => true;

    /// <inheritdoc />
    public BackendRuntime Runtime
    {
        get
        {
            try
            {
                return new BackendRuntime(Name, "ONNX Runtime", OrtRuntime.Shared.Version, OrtRuntime.Flavor);
            }
            catch (BackendException e)
            {
                return new BackendRuntime(Name, "ONNX Runtime", $"unavailable: {e.Message}", OrtRuntime.Flavor);
            }
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<int> GpuDevices => OrtExecutionProviders.VisibleGpus();

    /// <inheritdoc />
    /// <remarks>Rewrites the ONNX file itself: int8-dynamic, int8-static (QDQ) and fp16 variants.</remarks>
    public Core.Quantization.IModelQuantizer Quantizer { get; } = new Quantization.OnnxQuantizer();

    /// <inheritdoc />
    public IModelInstance CreateInstance(InstanceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return OnnxRuntimeInstance.Create(options);
    }
}
