namespace InferenceServer.Core.Quantization;

/// <summary>
/// What the accuracy gate lets a quantized variant cost. A limit left null is not checked (its figure is still reported).
/// </summary>
/// <param name="MaxAbsError">The largest absolute difference allowed between the parent's and the variant's value of any output element.</param>
/// <param name="MinAgreement">The smallest fraction (0..1) of rows on which parent and variant must decide alike, per output.</param>
/// <param name="MaxAucDrop">The most the variant's AUC may fall below the parent's (needs labels).</param>
public sealed record GateLimits(double? MaxAbsError = null, double? MinAgreement = null, double? MaxAucDrop = null)
{
    /// <summary>
    /// The decision threshold of an output with one value per row (a single probability): a row decides "positive" when
    /// its value is at least this. Outputs whose last dimension is larger decide by argmax instead.
    /// </summary>
    public double Threshold { get; init; } = 0.5;

    /// <summary>The limits a load-time variant gets when its config gives none: at least 99% agreement, as decisions are what clients see.</summary>
    public static GateLimits LoadDefault { get; } = new(MinAgreement: 0.99);

    /// <summary>The limits in words, for a report: <c>max-abs-error 0.01, min-agreement 0.99</c>; "none" when none is set.</summary>
    public override string ToString()
    {
        var parts = new List<string>();
        if (MaxAbsError is { } abs)
        {
            parts.Add(FormattableString.Invariant($"max-abs-error {abs:G6}"));
        }
        if (MinAgreement is { } agreement)
        {
            parts.Add(FormattableString.Invariant($"min-agreement {agreement:G6}"));
        }
        if (MaxAucDrop is { } auc)
        {
            parts.Add(FormattableString.Invariant($"max-auc-drop {auc:G6}"));
        }
        return parts.Count == 0 ? "none" : string.Join(", ", parts);
    }
}
