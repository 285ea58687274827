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
            var index = Find(shadow, expected.Name);
            if (index < 0)
            {
                continue;
            }
            var actual = shadow[index];
            differences.Add(Compare(expected, actual.DataType, actual.Shape, actual.Shape.Length == 0 ? 0 : actual.Shape[0], actual.Data,
                IsDecision(expected, decisionOutput), threshold));
        }
    }

    /// <summary>
    /// As <see cref="Compare(Tensor[], Tensor[], string, double, List{ShadowOutputDifference})"/>, against one copy's rows of a
    /// batched answer, read in place: <paramref name="rows"/> rows, which of output o are the bytes from
    /// <paramref name="bounds"/>[o][<paramref name="copy"/>] to the next bound (see <see cref="ShadowBatch.SliceBounds"/>).
    /// </summary>
    public static void Compare(Tensor[] primary, Tensor[] batched, int[][] bounds, int copy, int rows, string decisionOutput, double threshold,
        List<ShadowOutputDifference> differences)
    {
        foreach (var expected in primary)
        {
            var index = Find(batched, expected.Name);
            if (index < 0)
            {
                continue;
            }
            var actual = batched[index];
            var start = bounds[index][copy];
            var data = actual.Data[start..bounds[index][copy + 1]];
            differences.Add(Compare(expected, actual.DataType, actual.Shape, rows, data, IsDecision(expected, decisionOutput), threshold));
        }
    }

    private static bool IsDecision(Tensor output, string decisionOutput) => decisionOutput.Length > 0
        ? string.Equals(output.Name, decisionOutput, StringComparison.Ordinal)
        : OneValuePerRow(output.Shape);

    private static int Find(Tensor[] outputs, string name)
    {
        for (var i = 0; i < outputs.Length; i++)
        {
            if (string.Equals(outputs[i].Name, name, StringComparison.Ordinal))
            {
                return i;
            }
        }
        return -1;
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

    // The shadow's side is its shape with `rows` as the first dimension (a scalar keeps none) and its data: a whole
    // answer, or one copy's rows of a batched one, compared where they lie.
    private static ShadowOutputDifference Compare(Tensor primary, DataType shadowType, long[] shadowShape, long rows, ReadOnlySpan<byte> shadow,
        bool decisions, double threshold)
    {
        var primaryShape = primary.Shape;
        var sameShape = primaryShape.Length == shadowShape.Length
            && (primaryShape.Length == 0 || (primaryShape[0] == rows && primaryShape.AsSpan(1).SequenceEqual(shadowShape.AsSpan(1))));
        if (!sameShape || (primary.DataType == DataType.Bytes) != (shadowType == DataType.Bytes))
        {
            return ShadowOutputDifference.Incomparable(primary.Name);
        }
        return primary.DataType == DataType.Bytes
            ? CompareBytes(primary, shadow)
            : CompareNumbers(primary, shadowType, shadow, decisions, threshold);
    }

    private static ShadowOutputDifference CompareBytes(Tensor primary, ReadOnlySpan<byte> shadow)
    {
        var count = primary.ElementCount;
        if (!HasElements(primary.Data, count) || !HasElements(shadow, count))
        {
            return ShadowOutputDifference.Incomparable(primary.Name);
        }
        var mismatches = 0L;
        var other = BytesTensorLayout.Elements(shadow);
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

    private static bool HasElements(ReadOnlySpan<byte> data, long count) =>
        BytesTensorLayout.TryCountElements(data, out var found, out _) && found == count;

    private static ShadowOutputDifference CompareNumbers(Tensor primary, DataType shadowType, ReadOnlySpan<byte> actual, bool decisions, double threshold)
    {
        var count = primary.ElementCount;
        var primarySize = primary.DataType.ElementSize();
        var shadowSize = shadowType.ElementSize();
        if (primarySize == 0 || shadowSize == 0 || primary.ByteLength != count * primarySize || actual.Length != count * shadowSize)
        {
            return ShadowOutputDifference.Incomparable(primary.Name);
        }
        ReadOnlySpan<byte> expected = primary.Data;
        var sum = 0.0;
        var mismatches = 0L;
        var flips = 0L;
        for (var i = 0; i < (int)count; i++)
        {
            var a = TensorElements.ToDouble(primary.DataType, expected, i);
            var b = TensorElements.ToDouble(shadowType, actual, i);
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
