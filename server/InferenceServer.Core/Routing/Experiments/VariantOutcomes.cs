namespace InferenceServer.Core.Routing.Experiments;

/// <summary>
/// The outcomes joined to one variant so far: plain sums, so that a snapshot is a copy and every figure of the report
/// derives from them. Immutable; <see cref="Add"/> returns the sums with one more outcome.
/// </summary>
internal readonly record struct VariantOutcomes(
    long Outcomes,
    long Conversions,
    long Labels,
    double LabelSum,
    long Predicted,
    long Correct,
    double AbsoluteErrorSum)
{
    /// <summary>Conversions over outcomes; null before the first outcome.</summary>
    public double? Rate => Outcomes > 0 ? (double)Conversions / Outcomes : null;

    /// <summary>The mean of the labels; null before the first label.</summary>
    public double? MeanLabel => Labels > 0 ? LabelSum / Labels : null;

    /// <summary>The share of labels the prediction got right; null before the first label of a request with a prediction.</summary>
    public double? Accuracy => Predicted > 0 ? (double)Correct / Predicted : null;

    /// <summary>The mean absolute difference of prediction and label; null like <see cref="Accuracy"/>.</summary>
    public double? MeanAbsoluteError => Predicted > 0 ? AbsoluteErrorSum / Predicted : null;

    /// <summary>These sums with <paramref name="outcome"/> added.</summary>
    /// <param name="outcome">The outcome joined to a request this variant answered.</param>
    /// <param name="prediction">The request's prediction; NaN when it had none.</param>
    /// <param name="threshold">A prediction at or above it predicts a positive label.</param>
    public VariantOutcomes Add(Outcome outcome, double prediction, double threshold)
    {
        var next = this with
        {
            Outcomes = Outcomes + 1,
            Conversions = Conversions + (outcome.Positive ? 1 : 0),
        };
        if (!outcome.IsLabel)
        {
            return next;
        }
        next = next with { Labels = Labels + 1, LabelSum = LabelSum + outcome.Value };
        if (double.IsNaN(prediction))
        {
            return next;
        }
        return next with
        {
            Predicted = Predicted + 1,
            Correct = Correct + ((prediction >= threshold) == outcome.Positive ? 1 : 0),
            AbsoluteErrorSum = AbsoluteErrorSum + Math.Abs(prediction - outcome.Value),
        };
    }
}
