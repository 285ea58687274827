namespace InferenceServer.Core.Quantization;

/// <summary>How closely a variant's output follows its parent's over an evaluation set.</summary>
/// <param name="Name">The output.</param>
/// <param name="Elements">Elements compared.</param>
/// <param name="MaxAbsError">The largest absolute difference of one element.</param>
/// <param name="MeanAbsError">The mean absolute difference per element.</param>
/// <param name="Decision">How a row's decision is read: <c>argmax</c> over the last dimension, or <c>&gt;= 0.5</c>.</param>
/// <param name="Rows">Rows decided (one decision per row, or per last-dimension vector).</param>
/// <param name="Agreement">The fraction of rows on which both decide alike.</param>
/// <param name="ParentAuc">The parent's AUC against the labels; null without labels or for an output that gives no single score per row.</param>
/// <param name="VariantAuc">The variant's AUC, likewise.</param>
public sealed record OutputAccuracy(string Name, long Elements, double MaxAbsError, double MeanAbsError, string Decision, long Rows, double Agreement,
    double? ParentAuc, double? VariantAuc)
{
    /// <summary>How much AUC the variant lost (positive: worse); null without AUCs.</summary>
    public double? AucDrop => ParentAuc is { } parent && VariantAuc is { } variant ? parent - variant : null;
}
