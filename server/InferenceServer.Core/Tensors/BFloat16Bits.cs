namespace InferenceServer.Core.Tensors;

/// <summary>
/// bfloat16 is the upper 16 bits of an IEEE float; these convert with round-to-nearest-even,
/// the rounding every ML framework uses, so values match what a client computed elsewhere.
/// </summary>
public static class BFloat16Bits
{
    /// <summary>Rounds <paramref name="value"/> to the nearest bfloat16, ties to even; NaN stays a (quiet) NaN.</summary>
    public static ushort FromSingle(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x0040);
        }
        var roundingBias = 0x7FFFu + ((bits >> 16) & 1u);
        return (ushort)((bits + roundingBias) >> 16);
    }

    /// <summary>Widens a bfloat16 to the float with the same value (exact).</summary>
    public static float ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);
}
