namespace InferenceServer.Core.Quantization;

/// <summary>How a quantized variant is made from its FP32 parent.</summary>
public enum QuantizationMethod
{
    /// <summary>Weights of MatMul/Gemm (and Conv where it pays) stored as int8; activations quantized at run time.</summary>
    Int8Dynamic,

    /// <summary>Weights and activations quantized with scales calibrated on sample inputs (QDQ format).</summary>
    Int8Static,

    /// <summary>Weights and computation in FP16; the model's inputs and outputs stay FP32 unless asked.</summary>
    Fp16,
}
