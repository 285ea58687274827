namespace InferenceServer.Core.Quantization;

/// <summary>What a version serves after its config asked for a quantized variant.</summary>
/// <param name="ModelPath">The file its instances load: the variant, or the FP32 parent when the variant was refused.</param>
/// <param name="Precision">The precision served: the method's name (e.g. <c>int8-dynamic</c>) or <c>fp32</c>.</param>
/// <param name="Note">Why FP32 serves (with the gate's figures), for the index's reason and the log; empty when the variant serves.</param>
/// <param name="Gate">The gate's result; null when it did not run.</param>
/// <param name="Reused">True when the variant came from the cache rather than being made by this load.</param>
internal sealed record VariantDecision(string ModelPath, string Precision, string Note, GateResult? Gate, bool Reused)
{
    /// <summary>The precision a version reports when it serves its FP32 model after asking for a variant.</summary>
    public const string Fp32 = "fp32";

    /// <summary>True when the variant serves.</summary>
    public bool ServesVariant => Note.Length == 0;
}
