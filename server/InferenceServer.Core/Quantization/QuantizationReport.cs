namespace InferenceServer.Core.Quantization;

/// <summary>What a quantizer changed in a model.</summary>
/// <param name="QuantizedNodes">Nodes rewritten, by operator type (e.g. MatMul: 12).</param>
/// <param name="SkippedNodes">Nodes of a quantizable type left in FP32, with why (e.g. "Conv 'stem': weight not a constant").</param>
/// <param name="ParentBytes">Size of the parent file.</param>
/// <param name="VariantBytes">Size of the variant file.</param>
public sealed record QuantizationReport(
    IReadOnlyDictionary<string, int> QuantizedNodes,
    IReadOnlyList<string> SkippedNodes,
    long ParentBytes,
    long VariantBytes);
