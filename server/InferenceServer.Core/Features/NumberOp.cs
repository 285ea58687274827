namespace InferenceServer.Core.Features;

/// <summary>
/// One numeric transform with its parameters: A and B are mean and std, min and max, or the clip bounds; Boundaries are
/// a bucketize's edges. A struct in an array, so a column's transforms run without a virtual call or an allocation.
/// </summary>
internal readonly record struct NumberOp(NumberOpKind Kind, double A, double B, double[]? Boundaries)
{
    /// <summary>Applies the transform; NaN for a value it does not take (log1p of -1 or less).</summary>
    public double Apply(double x) => Kind switch
    {
        // Divided, not multiplied by a reciprocal: the encoding must equal the training code's to the last bit.
        NumberOpKind.Standardize => (x - A) / B,
        NumberOpKind.MinMax => (x - A) / (B - A),
        NumberOpKind.Log1p => x > -1 ? Log1p(x) : double.NaN,
        NumberOpKind.Clip => x < A ? A : x > B ? B : x,
        _ => Bucket(x),
    };

    // The number of edges at or below x: a value on an edge belongs to the bucket above it.
    private double Bucket(double x)
    {
        var edges = Boundaries!;
        int low = 0, high = edges.Length;
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            if (edges[middle] <= x)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }
        return low;
    }

    // ln(1 + x) without losing x's digits when x is small: .NET has no log1p (double.LogP1 is Log(x + 1)). The ratio
    // corrects the rounding of 1 + x (Goldberg, "What every computer scientist should know about floating-point").
    internal static double Log1p(double x)
    {
        var u = 1.0 + x;
        if (u == 1.0)
        {
            return x;
        }
        // x / (u - 1) first: it is exactly 1 whenever 1 + x was exact (whole numbers), so ln(1 + x) comes out as Log gives it.
        return double.IsPositiveInfinity(u) ? u : Math.Log(u) * (x / (u - 1.0));
    }
}
