using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Routing.Shadow;

/// <summary>
/// Compares a shadow's outputs with the primary's, output by output, for every name both answers hold: the absolute
/// difference of every numeric element (whatever the two numeric types; an FP64 shadow of an FP32 model compares as
/// numbers), equality of every BYTES element, and for decision outputs whether both fall on the same side of the
/// threshold. Two answers that differ in shape are a mismatch to count, never an error: a shadow is on trial.
/// </summary>
internal static class ShadowComparer
{
    /// <summary>
    /// Adds to <paramref name="differences"/> one entry per output of <paramref name="primary"/> that <paramref name="shadow"/>
    /// also holds. Decision outputs: <paramref name="decisionOutput"/>, or when it is empty every output with one value per
    /// batch row (shape [n] or [n, 1, ...]); a value at or above <paramref name="threshold"/> is a positive decision.
    /// </summary>
    public static void Compare(Tensor[] primary, Tensor[] shadow, string decisionOutput, double threshold, List<ShadowOutputDifference> differences)
    {
        foreach (var expected in primary)
        {
            var actual = Find(shadow, expected.Name);
            if (actual is null)
            {
                continue;
            }
            var decisions = decisionOutput.Length > 0
                ? string.Equals(expected.Name, decisionOutput, StringComparison.Ordinal)
                : OneValuePerRow(expected.Shape);
            differences.Add(Compare(expected, actual, decisions, threshold));
        }
    }

    private static Tensor? Find(Tensor[] outputs, string name)
    {
        foreach (var output in outputs)
        {
            if (string.Equals(output.Name, name, StringComparison.Ordinal))
            {
                return output;
            }
        }
        return null;
    }

    // Rows are the first dimension; a scalar is one row of one value.
    private static bool OneValuePerRow(long[] shape)
    {
        for (var i = 1; i < shape.Length; i++)
        {
            if (shape[i] != 1)
            {
                return false;
            }
        }
        return true;
    }

    private static ShadowOutputDifference Compare(Tensor primary, Tensor shadow, bool decisions, double threshold)
    {
        if (!primary.Shape.AsSpan().SequenceEqual(shadow.Shape) || (primary.DataType == DataType.Bytes) != (shadow.DataType == DataType.Bytes))
        {
            return ShadowOutputDifference.Incomparable(primary.Name);
        }
        return primary.DataType == DataType.Bytes
            ? CompareBytes(primary, shadow)
            : CompareNumbers(primary, shadow, decisions, threshold);
    }

    private static ShadowOutputDifference CompareBytes(Tensor primary, Tensor shadow)
    {
        var count = primary.ElementCount;
        if (!HasElements(primary, count) || !HasElements(shadow, count))
        {
            return ShadowOutputDifference.Incomparable(primary.Name);
        }
        var mismatches = 0L;
        var other = BytesTensorLayout.Elements(shadow.Data);
        foreach (var element in BytesTensorLayout.Elements(primary.Data))
        {
            other.MoveNext();
            if (!element.SequenceEqual(other.Current))
            {
                mismatches++;
            }
        }
        return new ShadowOutputDifference(primary.Name, ShapeMismatch: false, count, 0, mismatches, 0, 0);
    }

    private static bool HasElements(Tensor tensor, long count) =>
        BytesTensorLayout.TryCountElements(tensor.Data, out var found, out _) && found == count;

    private static ShadowOutputDifference CompareNumbers(Tensor primary, Tensor shadow, bool decisions, double threshold)
    {
        var count = primary.ElementCount;
        var primarySize = primary.DataType.ElementSize();
        var shadowSize = shadow.DataType.ElementSize();
        if (primarySize == 0 || shadowSize == 0 || primary.ByteLength != count * primarySize || shadow.ByteLength != count * shadowSize)
        {
            return ShadowOutputDifference.Incomparable(primary.Name);
        }
        ReadOnlySpan<byte> expected = primary.Data;
        ReadOnlySpan<byte> actual = shadow.Data;
        var sum = 0.0;
        var mismatches = 0L;
        var flips = 0L;
        for (var i = 0; i < (int)count; i++)
        {
            var a = TensorElements.ToDouble(primary.DataType, expected, i);
            var b = TensorElements.ToDouble(shadow.DataType, actual, i);
            // Equal infinities and two NaNs agree; their difference would be NaN.
            if (a != b && !(double.IsNaN(a) && double.IsNaN(b)))
            {
                var difference = Math.Abs(a - b);
                if (double.IsFinite(difference))
                {
                    sum += difference;
                }
                else
                {
                    mismatches++;
                }
            }
            if (decisions && (a >= threshold) != (b >= threshold))
            {
                flips++;
            }
        }
        return new ShadowOutputDifference(primary.Name, ShapeMismatch: false, count, sum, mismatches, decisions ? count : 0, flips);
    }
}
