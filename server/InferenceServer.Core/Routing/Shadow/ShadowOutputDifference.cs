namespace InferenceServer.Core.Routing.Shadow;

/// <summary>How one output of one shadow answer differed from the primary's (see <see cref="ShadowComparer"/>).</summary>
/// <param name="Output">The output's name.</param>
/// <param name="ShapeMismatch">The two differ in shape, or one is BYTES and the other numbers: nothing else was compared.</param>
/// <param name="Elements">Elements compared.</param>
/// <param name="AbsoluteDifferenceSum">The sum of |primary - shadow| over the numeric elements that have a finite difference.</param>
/// <param name="Mismatches">Elements that differ without a finite difference: BYTES elements that differ, and numbers where one side is NaN or an infinity the other does not match.</param>
/// <param name="Decisions">Values judged as decisions (0 when the output is not a decision output).</param>
/// <param name="Flips">Decisions on which the primary and the shadow fall on different sides of the threshold.</param>
internal readonly record struct ShadowOutputDifference(
    string Output,
    bool ShapeMismatch,
    long Elements,
    double AbsoluteDifferenceSum,
    long Mismatches,
    long Decisions,
    long Flips)
{
    /// <summary>The difference of an output whose two answers cannot be compared element by element.</summary>
    public static ShadowOutputDifference Incomparable(string output) => new(output, ShapeMismatch: true, 0, 0, 0, 0, 0);
}
