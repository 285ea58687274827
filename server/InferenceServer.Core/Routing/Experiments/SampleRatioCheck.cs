namespace InferenceServer.Core.Routing.Experiments;

/// <summary>
/// The sample-ratio-mismatch check of an experiment: did the variants answer the shares of requests their weights
/// promise? A mismatch means the assignment is broken (a variant failing or being retried, keys that are not random),
/// and then no comparison of the variants can be trusted: the commonest way an A/B test goes wrong.
/// </summary>
public sealed class SampleRatioCheck
{
    internal SampleRatioCheck(double? chiSquare, double? pValue, bool mismatch, string? note)
    {
        ChiSquare = chiSquare;
        PValue = pValue;
        Mismatch = mismatch;
        Note = note;
    }

    /// <summary>Pearson's chi-square of the observed request counts against the weights; null with <see cref="Note"/>.</summary>
    public double? ChiSquare { get; }

    /// <summary>Its p-value; null with <see cref="Note"/>.</summary>
    public double? PValue { get; }

    /// <summary>True when the p-value is below 0.001.</summary>
    public bool Mismatch { get; }

    /// <summary>Why there is no figure ("not enough data: ..."); null when there is one.</summary>
    public string? Note { get; }

    internal static SampleRatioCheck NotEnoughData(string why) => new(null, null, mismatch: false, $"not enough data: {why}");
}
