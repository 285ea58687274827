namespace InferenceServer.Core.Tensors;

/// <summary>Arithmetic on shapes, checked so that a hostile shape cannot overflow a size.</summary>
public static class ShapeMath
{
    /// <summary>Product of the dimensions; throws <see cref="OverflowException"/> past <see cref="long.MaxValue"/>.</summary>
    public static long ElementCount(ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (var dim in shape)
        {
            count = checked(count * dim);
        }
        return count;
    }

    /// <summary>Formats a shape as <c>[2,16]</c> for error messages and logs.</summary>
    public static string Format(ReadOnlySpan<long> shape)
    {
        if (shape.IsEmpty)
        {
            return "[]";
        }
        var text = new System.Text.StringBuilder("[");
        for (var i = 0; i < shape.Length; i++)
        {
            if (i > 0)
            {
                text.Append(',');
            }
            text.Append(shape[i]);
        }
        return text.Append(']').ToString();
    }
}
