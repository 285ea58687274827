namespace InferenceServer.Core.Drift;

/// <summary>
/// The drift measures: the Population Stability Index between two binned distributions, and the Kolmogorov–Smirnov
/// statistic between a sample and a profile's CDF, with the conventional PSI thresholds.
/// </summary>
public static class DriftStatistics
{
    /// <summary>
    /// The share an empty bin is given in the PSI, on both sides: without it one empty bin makes the index infinite.
    /// 1e-4 is the usual choice; it is small against a bin's share (1/10) and keeps an empty bin's term finite.
    /// </summary>
    public const double Epsilon = 1e-4;

    /// <summary>Below this PSI: no drift.</summary>
    public const double ModerateThreshold = 0.1;

    /// <summary>Above this PSI: significant drift (between the two: moderate).</summary>
    public const double SignificantThreshold = 0.2;

    /// <summary>
    /// PSI = Σ (actual − expected) · ln(actual / expected), over the bins, with each share raised to at least
    /// <see cref="Epsilon"/>. Both spans hold shares (each summing to 1) of the same bins.
    /// </summary>
    public static double Psi(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual)
    {
        if (expected.Length != actual.Length)
        {
            throw new ArgumentException($"the PSI compares the same bins: {expected.Length} expected shares, {actual.Length} actual ones");
        }
        var psi = 0.0;
        for (var i = 0; i < expected.Length; i++)
        {
            var e = Math.Max(expected[i], Epsilon);
            var a = Math.Max(actual[i], Epsilon);
            psi += (a - e) * Math.Log(a / e);
        }
        return psi;
    }

    /// <summary>none (PSI &lt; 0.1), moderate (0.1 to 0.2) or significant (&gt; 0.2).</summary>
    public static string Level(double psi) => psi < ModerateThreshold ? "none" : psi <= SignificantThreshold ? "moderate" : "significant";

    /// <summary>The bin of <paramref name="value"/>: the first edge it does not exceed, else the last bin.</summary>
    public static int Bin(ReadOnlySpan<double> edges, double value)
    {
        int lo = 0, hi = edges.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (value <= edges[mid])
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }
        return lo;
    }

    /// <summary>
    /// The profile's CDF at <paramref name="value"/>, from its equally spaced <paramref name="quantiles"/> (q[k] is the
    /// k/(n−1) quantile), linear between them: its limit from the left and its value, which differ where several
    /// quantiles are equal (a value many rows share).
    /// </summary>
    public static (double Left, double Right) Cdf(ReadOnlySpan<double> quantiles, double value)
    {
        var last = quantiles.Length - 1;
        if (value < quantiles[0])
        {
            return (0, 0);
        }
        if (value > quantiles[last])
        {
            return (1, 1);
        }
        // first: the first quantile >= value; end: the first quantile > value.
        var first = LowerBound(quantiles, value);
        var end = UpperBound(quantiles, value);
        if (first < end)
        {
            // value is a quantile (several, when they tie): the CDF steps from the first to the last of them.
            return (first / (double)last, (end - 1) / (double)last);
        }
        var below = quantiles[first - 1];
        var above = quantiles[first];
        var at = (first - 1 + (value - below) / (above - below)) / last;
        return (at, at);
    }

    /// <summary>
    /// The KS statistic: the largest distance between the empirical CDF of <paramref name="sorted"/> (ascending, no NaN)
    /// and the profile's CDF from <paramref name="quantiles"/>, looked at on both sides of every step. 0 for no values.
    /// </summary>
    public static double Ks(ReadOnlySpan<double> sorted, ReadOnlySpan<double> quantiles)
    {
        var n = sorted.Length;
        if (n == 0)
        {
            return 0;
        }
        var d = 0.0;
        var i = 0;
        while (i < n)
        {
            var value = sorted[i];
            var j = i;
            while (j < n && sorted[j] == value)
            {
                j++;
            }
            var (left, right) = Cdf(quantiles, value);
            d = Math.Max(d, Math.Abs(i / (double)n - left));
            d = Math.Max(d, Math.Abs(j / (double)n - right));
            i = j;
        }
        return d;
    }

    private static int LowerBound(ReadOnlySpan<double> values, double value)
    {
        int lo = 0, hi = values.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (values[mid] < value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }

    private static int UpperBound(ReadOnlySpan<double> values, double value)
    {
        int lo = 0, hi = values.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (values[mid] <= value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }
}
