namespace InferenceServer.Core.Quantization;

/// <summary>A model that cannot be quantized as asked; the message names what and why.</summary>
public sealed class QuantizationException(string message, Exception? inner = null) : Exception(message, inner);
