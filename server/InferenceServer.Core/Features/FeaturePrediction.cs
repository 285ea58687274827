namespace InferenceServer.Core.Features;

/// <summary>How predict labels a row: the first value of <see cref="Output"/> against <see cref="Threshold"/>.</summary>
public sealed class FeaturePrediction
{
    internal FeaturePrediction(string output, double threshold, string negativeLabel, string positiveLabel)
    {
        Output = output;
        Threshold = threshold;
        Labels = [negativeLabel, positiveLabel];
    }

    /// <summary>The model output whose first value per row is labelled, e.g. <c>probability</c>.</summary>
    public string Output { get; }

    /// <summary>A value at or above it gets <c>Labels[1]</c>, below it <c>Labels[0]</c>.</summary>
    public double Threshold { get; }

    /// <summary>The negative label, then the positive one.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>The label of one row's value; NaN (no decision) gets the negative label.</summary>
    public string Label(double value) => value >= Threshold ? Labels[1] : Labels[0];
}
