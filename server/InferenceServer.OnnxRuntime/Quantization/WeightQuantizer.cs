namespace InferenceServer.OnnxRuntime.Quantization;

/// <summary>
/// Turns FP32 weights into 8-bit integers. A weight is seen as laid out <c>[outer, channels, inner]</c>: one scale per
/// channel, or one for the whole tensor when <c>channels</c> is 1.
/// </summary>
internal static class WeightQuantizer
{
    /// <summary>
    /// Symmetric int8 in [-127, 127] with zero point 0: zero stays exactly zero and the integer kernels need no
    /// zero-point correction for the weight. -128 is left out so that the range is the same on both sides.
    /// </summary>
    public static QuantizedWeight Symmetric(float[] data, int outer, int channels, int inner)
    {
        var scales = new float[channels];
        for (var c = 0; c < channels; c++)
        {
            var largest = 0f;
            for (var o = 0; o < outer; o++)
            {
                var start = ((o * channels) + c) * inner;
                for (var i = 0; i < inner; i++)
                {
                    largest = MathF.Max(largest, MathF.Abs(data[start + i]));
                }
            }
            // An all-zero channel gets scale 1 (any scale reproduces zeros); a zero scale is invalid in ONNX.
            scales[c] = largest > 0 ? largest / 127f : 1f;
        }

        var values = new byte[data.Length];
        for (var o = 0; o < outer; o++)
        {
            for (var c = 0; c < channels; c++)
            {
                var start = ((o * channels) + c) * inner;
                for (var i = 0; i < inner; i++)
                {
                    var q = MathF.Round(data[start + i] / scales[c], MidpointRounding.ToEven);
                    values[start + i] = unchecked((byte)(sbyte)Math.Clamp(q, -127f, 127f));
                }
            }
        }
        return new QuantizedWeight(values, scales, new byte[channels], Signed: true);
    }

    /// <summary>
    /// Asymmetric uint8 over the whole tensor, the range stretched to include 0 so that zero is exact: for kernels that
    /// take unsigned weights only (ONNX Runtime's ConvInteger).
    /// </summary>
    public static QuantizedWeight Asymmetric(float[] data)
    {
        var low = 0f;
        var high = 0f;
        foreach (var value in data)
        {
            low = MathF.Min(low, value);
            high = MathF.Max(high, value);
        }
        var (scale, zeroPoint) = UInt8Range(low, high);
        var values = new byte[data.Length];
        for (var i = 0; i < data.Length; i++)
        {
            values[i] = (byte)Math.Clamp(MathF.Round(data[i] / scale, MidpointRounding.ToEven) + zeroPoint, 0f, 255f);
        }
        return new QuantizedWeight(values, [scale], [zeroPoint], Signed: false);
    }

    /// <summary>Scale and zero point that map [low, high] (which must include 0) onto uint8 [0, 255].</summary>
    public static (float Scale, byte ZeroPoint) UInt8Range(float low, float high)
    {
        low = MathF.Min(low, 0f);
        high = MathF.Max(high, 0f);
        if (high - low <= 0f || !float.IsFinite(high - low))
        {
            return (1f, 0);
        }
        var scale = (high - low) / 255f;
        var zeroPoint = (byte)Math.Clamp(MathF.Round(-low / scale, MidpointRounding.ToEven), 0f, 255f);
        return (scale, zeroPoint);
    }

    /// <summary>Scale that maps [-bound, bound] onto int8 [-127, 127] with zero point 0.</summary>
    public static float Int8Scale(float bound) => bound > 0 && float.IsFinite(bound) ? bound / 127f : 1f;
}
