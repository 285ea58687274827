using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Quantization;

/// <summary>
/// Makes a quantized variant of a model file in the backend's own format (for ONNX: reads and writes the ONNX protobuf).
/// A backend that can quantize exposes one through <see cref="Backends.IModelBackend.Quantizer"/>; the accuracy gate and
/// the load-time cache are the backend-agnostic part, in this folder.
/// </summary>
public interface IModelQuantizer
{
    /// <summary>
    /// Writes the variant of the FP32 model at <paramref name="parentPath"/> to <paramref name="variantPath"/> and says what
    /// it changed. <paramref name="calibration"/> holds sample requests (each one tensor per model input, by name), used by
    /// int8-static and ignored by the others. Throws <see cref="QuantizationException"/> naming what cannot be quantized
    /// (not an FP32 model, no calibration inputs for int8-static, an unreadable file).
    /// </summary>
    QuantizationReport Quantize(string parentPath, string variantPath, QuantizeSettings settings,
        IReadOnlyList<IReadOnlyList<Tensor>> calibration, CancellationToken cancellationToken = default);
}
