namespace InferenceServer.Core.Routing.Shadow;

/// <summary>The cumulative disagreement on one output, over every shadow answer compared since the mirror started.</summary>
/// <param name="Output">The output's name.</param>
/// <param name="Compared">Answers in which both held the output.</param>
/// <param name="ShapeMismatches">Of those, answers whose two outputs differed in shape (or BYTES against numbers) and were not compared further.</param>
/// <param name="Elements">Elements compared.</param>
/// <param name="AbsoluteDifferenceSum">The sum of the absolute differences of the numeric elements with a finite difference.</param>
/// <param name="Mismatches">Elements that differ without a finite difference: differing BYTES elements, NaN or an unmatched infinity on one side.</param>
/// <param name="Decisions">Values judged as decisions.</param>
/// <param name="Flips">Decisions the primary and the shadow took differently.</param>
internal sealed record ShadowOutputSnapshot(
    string Output,
    long Compared,
    long ShapeMismatches,
    long Elements,
    double AbsoluteDifferenceSum,
    long Mismatches,
    long Decisions,
    long Flips)
{
    /// <summary>
    /// The mean absolute difference per element, over the elements that have one (the mismatches have none); 0 before
    /// any, and for a BYTES output, whose disagreement is its <see cref="Mismatches"/>.
    /// </summary>
    public double MeanAbsoluteDifference => Elements - Mismatches > 0 ? AbsoluteDifferenceSum / (Elements - Mismatches) : 0;
}
