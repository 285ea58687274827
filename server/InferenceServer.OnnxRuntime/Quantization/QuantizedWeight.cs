namespace InferenceServer.OnnxRuntime.Quantization;

/// <summary>
/// A weight as 8-bit integers: <c>value ≈ (q - zeroPoint) × scale</c>, with one scale and zero point per channel (or one
/// for the whole tensor). <see cref="Values"/> and <see cref="ZeroPoints"/> are the raw bytes of int8 or uint8 elements.
/// </summary>
internal sealed record QuantizedWeight(byte[] Values, float[] Scales, byte[] ZeroPoints, bool Signed);
