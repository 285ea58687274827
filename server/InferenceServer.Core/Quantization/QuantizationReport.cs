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
    long VariantBytes)
{
    /// <summary>
    /// What else the quantizer changed that a user should know, beyond nodes, e.g. "operator set raised from 10 to 11" or
    /// "3 weight values beyond the FP16 range clamped to ±65504".
    /// </summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}
