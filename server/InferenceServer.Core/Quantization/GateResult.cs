namespace InferenceServer.Core.Quantization;

/// <summary>The accuracy gate's verdict on a quantized variant, with every figure it measured.</summary>
/// <param name="Outputs">Per output: errors, agreement, AUCs.</param>
/// <param name="Limits">The limits applied.</param>
/// <param name="Source">Where the evaluation rows came from, e.g. <c>eval.csv (2,000 rows)</c>.</param>
/// <param name="Rows">Rows evaluated.</param>
/// <param name="ParentBytes">The parent's file size.</param>
/// <param name="VariantBytes">The variant's file size.</param>
/// <param name="ParentMilliseconds">The parent's time over the evaluation batches (measured interleaved with the variant's, after a warm-up), each run counted at the runs' median so that one stall does not decide it.</param>
/// <param name="VariantMilliseconds">The variant's time over the same batches.</param>
/// <param name="Failures">Each limit exceeded, naming the output, the figure and the limit; empty when the variant passes.</param>
public sealed record GateResult(IReadOnlyList<OutputAccuracy> Outputs, GateLimits Limits, string Source, long Rows, long ParentBytes, long VariantBytes,
    double ParentMilliseconds, double VariantMilliseconds, IReadOnlyList<string> Failures)
{
    /// <summary>True when no limit was exceeded.</summary>
    public bool Passed => Failures.Count == 0;

    /// <summary>Variant size over parent size (0.25: a quarter of the bytes).</summary>
    public double SizeRatio => ParentBytes == 0 ? 0 : (double)VariantBytes / ParentBytes;

    /// <summary>Variant time over parent time on the same batches (0.5: twice as fast).</summary>
    public double LatencyRatio => ParentMilliseconds == 0 ? 0 : VariantMilliseconds / ParentMilliseconds;

    /// <summary>One line: the verdict with the failing figures, or the headline figures of a pass.</summary>
    public string Summary()
    {
        if (!Passed)
        {
            return "refused by the accuracy gate: " + string.Join("; ", Failures);
        }
        var worstAbs = 0.0;
        var worstAgreement = 1.0;
        foreach (var output in Outputs)
        {
            worstAbs = Math.Max(worstAbs, output.MaxAbsError);
            worstAgreement = Math.Min(worstAgreement, output.Agreement);
        }
        return FormattableString.Invariant(
            $"passed the accuracy gate on {Rows} rows of {Source}: max abs error {worstAbs:G4}, agreement {worstAgreement * 100:F2}%, size ×{SizeRatio:F2}, latency ×{LatencyRatio:F2}");
    }
}
