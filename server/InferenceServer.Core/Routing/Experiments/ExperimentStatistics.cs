using MathNet.Numerics;
using MathNet.Numerics.Distributions;

namespace InferenceServer.Core.Routing.Experiments;

/// <summary>
/// The statistics of an A/B report, on counts of outcomes: the distributions are MathNet.Numerics'; what is ours is
/// the textbook formulas and when each one is trusted. Every method answers null instead of NaN or an infinity when
/// the data cannot support the figure, so a report never shows a number that means nothing.
/// </summary>
internal static class ExperimentStatistics
{
    /// <summary>
    /// The usual rule for the normal approximation of a z-test and for a chi-square test: every cell expects at least
    /// this many observations. Below it the p-value of a handful of outcomes (3 vs 3) would look significant.
    /// </summary>
    public const double MinExpectedCount = 5;

    /// <summary>A sample-ratio p-value below it is a mismatch: the threshold experimentation platforms commonly use.</summary>
    public const double SampleRatioMismatchThreshold = 0.001;

    /// <summary>The Wilson score interval of <paramref name="successes"/> in <paramref name="trials"/>; null without trials.</summary>
    /// <param name="successes">Conversions.</param>
    /// <param name="trials">Outcomes.</param>
    /// <param name="confidence">The interval's confidence, 1 - alpha (0.95).</param>
    public static (double Low, double High)? WilsonInterval(long successes, long trials, double confidence)
    {
        if (trials <= 0)
        {
            return null;
        }
        // Wilson rather than the normal (Wald) interval: it stays inside [0, 1] and is not empty at 0 or n successes.
        var z = StandardQuantile(1 - (1 - confidence) / 2);
        double n = trials;
        var p = successes / n;
        var z2 = z * z;
        var denominator = 1 + z2 / n;
        var centre = (p + z2 / (2 * n)) / denominator;
        var halfWidth = z / denominator * Math.Sqrt(p * (1 - p) / n + z2 / (4 * n * n));
        // At 0 or n successes the bound is the rate itself; rounding would otherwise leave the rate just outside it.
        return (successes == 0 ? 0 : Math.Max(0, centre - halfWidth), successes == trials ? 1 : Math.Min(1, centre + halfWidth));
    }

    /// <summary>
    /// The two-sided p-value of the pooled two-proportion z-test of <paramref name="x1"/>/<paramref name="n1"/> against
    /// <paramref name="x2"/>/<paramref name="n2"/>; null when either group has fewer than
    /// <see cref="MinExpectedCount"/> expected conversions or non-conversions at the pooled rate (no outcomes at all,
    /// or none converting, included).
    /// </summary>
    public static double? TwoProportionPValue(long x1, long n1, long x2, long n2)
    {
        if (n1 <= 0 || n2 <= 0)
        {
            return null;
        }
        var pooled = (double)(x1 + x2) / (n1 + n2);
        if (Math.Min(n1, n2) * Math.Min(pooled, 1 - pooled) < MinExpectedCount)
        {
            return null;
        }
        var standardError = Math.Sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2));
        var z = ((double)x2 / n2 - (double)x1 / n1) / standardError;
        // 2·Φ(-|z|) rather than 2·(1 - Φ(|z|)): the upper tail keeps its digits when the p-value is tiny.
        return Math.Min(1, 2 * Normal.CDF(0, 1, -Math.Abs(z)));
    }

    /// <summary>
    /// The smallest absolute difference in rate from a control converting at <paramref name="controlRate"/> that a
    /// two-sided test at <paramref name="alpha"/> detects with probability <paramref name="power"/>, with
    /// <paramref name="controlOutcomes"/> and <paramref name="variantOutcomes"/> outcomes; null when either has none or
    /// the control's rate is 0 or 1 (no variance to scale by).
    /// </summary>
    public static double? MinimumDetectableEffect(double controlRate, long controlOutcomes, long variantOutcomes, double alpha, double power)
    {
        if (controlOutcomes <= 0 || variantOutcomes <= 0 || controlRate is <= 0 or >= 1)
        {
            return null;
        }
        var z = StandardQuantile(1 - alpha / 2) + StandardQuantile(power);
        return z * Math.Sqrt(controlRate * (1 - controlRate) * (1.0 / controlOutcomes + 1.0 / variantOutcomes));
    }

    /// <summary>
    /// Pearson's chi-square of the requests each variant answered against the split its weight promises, and its
    /// p-value. Variants of weight 0 take only forced requests and are left out. Null, with the reason, when fewer than
    /// two variants carry weight or some variant expects fewer than <see cref="MinExpectedCount"/> requests.
    /// </summary>
    public static SampleRatioCheck SampleRatio(ReadOnlySpan<uint> weights, ReadOnlySpan<long> requests)
    {
        if (weights.Length != requests.Length)
        {
            throw new ArgumentException($"{weights.Length} weights for {requests.Length} request counts", nameof(requests));
        }
        double totalWeight = 0;
        double total = 0;
        var weighted = 0;
        for (var i = 0; i < weights.Length; i++)
        {
            if (weights[i] > 0)
            {
                totalWeight += weights[i];
                total += requests[i];
                weighted++;
            }
        }
        if (weighted < 2)
        {
            return SampleRatioCheck.NotEnoughData("fewer than two variants have a weight, so there is no split to check");
        }
        double chiSquare = 0;
        for (var i = 0; i < weights.Length; i++)
        {
            if (weights[i] == 0)
            {
                continue;
            }
            var expected = total * weights[i] / totalWeight;
            if (expected < MinExpectedCount)
            {
                return SampleRatioCheck.NotEnoughData($"the check needs at least {MinExpectedCount} expected requests for every weighted variant");
            }
            var deviation = requests[i] - expected;
            chiSquare += deviation * deviation / expected;
        }
        // The upper tail of chi-square with k - 1 degrees of freedom, computed directly so that it keeps its digits.
        var pValue = SpecialFunctions.GammaUpperRegularized((weighted - 1) / 2.0, chiSquare / 2);
        return new SampleRatioCheck(chiSquare, pValue, pValue < SampleRatioMismatchThreshold, note: null);
    }

    private static double StandardQuantile(double probability) => Normal.InvCDF(0, 1, probability);
}
