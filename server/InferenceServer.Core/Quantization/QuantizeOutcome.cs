namespace InferenceServer.Core.Quantization;

/// <summary>What <c>inference-server quantize</c> did.</summary>
/// <param name="Model">The model.</param>
/// <param name="ParentVersion">The FP32 version quantized.</param>
/// <param name="Version">The version folder written (or that would have been, when the gate refused the variant).</param>
/// <param name="Method">The method's name.</param>
/// <param name="Report">What the quantizer changed.</param>
/// <param name="Gate">The accuracy gate's figures and verdict.</param>
/// <param name="Written">The version folder (or, with <see cref="OutputModel"/>, the model folder) written; null when the gate refused the variant (nothing is left behind).</param>
/// <param name="Notes">What a user should know about serving it (the version policy's effect).</param>
public sealed record QuantizeOutcome(string Model, long ParentVersion, long Version, string Method, QuantizationReport Report, GateResult Gate, string? Written,
    IReadOnlyList<string> Notes)
{
    /// <summary>The new model the variant was written as (<see cref="Version"/> is its version); null when it was written as a version of <see cref="Model"/>.</summary>
    public string? OutputModel { get; init; }
}
