using InferenceServer.Core.Tensors;

namespace InferenceServer.UnitTests.Tensors;

public sealed class BFloat16BitsTests
{
    private static ushort FromBits(uint floatBits) => BFloat16Bits.FromSingle(BitConverter.UInt32BitsToSingle(floatBits));

    [Theory]
    [InlineData(1.0f, 0x3F80)]
    [InlineData(-2.0f, 0xC000)]
    [InlineData(0.5f, 0x3F00)]
    [InlineData(3.0f, 0x4040)]
    [InlineData(0.0f, 0x0000)]
    [InlineData(65536.0f, 0x4780)]
    public void Exactly_representable_values_convert_exactly(float value, int expected)
    {
        Assert.Equal((ushort)expected, BFloat16Bits.FromSingle(value));
        Assert.Equal(value, BFloat16Bits.ToSingle((ushort)expected));
    }

    [Fact]
    public void Negative_zero_keeps_its_sign()
    {
        Assert.Equal(0x8000, BFloat16Bits.FromSingle(-0.0f));
        var back = BFloat16Bits.ToSingle(0x8000);
        Assert.Equal(0.0f, back);
        Assert.True(float.IsNegative(back));
    }

    [Theory]
    // Halfway between 0x3F80 and 0x3F81: ties go to the even 0x3F80.
    [InlineData(0x3F808000u, 0x3F80)]
    // Halfway between 0x3F81 and 0x3F82: ties go to the even 0x3F82.
    [InlineData(0x3F818000u, 0x3F82)]
    // Just below and just above the halfway point round to the nearer neighbour.
    [InlineData(0x3F807FFFu, 0x3F80)]
    [InlineData(0x3F808001u, 0x3F81)]
    [InlineData(0x3F817FFFu, 0x3F81)]
    [InlineData(0x3F818001u, 0x3F82)]
    // The same on the negative side: rounding is symmetric (to nearest, not towards +inf).
    [InlineData(0xBF808000u, 0xBF80)]
    [InlineData(0xBF818000u, 0xBF82)]
    [InlineData(0xBF808001u, 0xBF81)]
    // A carry out of the mantissa bumps the exponent.
    [InlineData(0x3FFFFFFFu, 0x4000)]
    public void Rounds_to_nearest_with_ties_to_even(uint floatBits, int expected)
    {
        Assert.Equal((ushort)expected, FromBits(floatBits));
    }

    [Fact]
    public void Infinities_stay_infinite()
    {
        Assert.Equal(0x7F80, BFloat16Bits.FromSingle(float.PositiveInfinity));
        Assert.Equal(0xFF80, BFloat16Bits.FromSingle(float.NegativeInfinity));
        Assert.Equal(float.PositiveInfinity, BFloat16Bits.ToSingle(0x7F80));
        Assert.Equal(float.NegativeInfinity, BFloat16Bits.ToSingle(0xFF80));
    }

    [Fact]
    public void Values_past_the_largest_bfloat16_round_to_infinity()
    {
        // 0x7F7F is the largest finite bfloat16; float.MaxValue lies above its halfway point to infinity.
        Assert.Equal(0x7F80, BFloat16Bits.FromSingle(float.MaxValue));
        Assert.Equal(0xFF80, BFloat16Bits.FromSingle(float.MinValue));
        // Exactly halfway between 0x7F7F and infinity: the even neighbour is infinity.
        Assert.Equal(0x7F80, FromBits(0x7F7F8000u));
        // Just below halfway stays finite.
        Assert.Equal(0x7F7F, FromBits(0x7F7F7FFFu));
        Assert.True(float.IsFinite(BFloat16Bits.ToSingle(0x7F7F)));
    }

    [Theory]
    [InlineData(0x7FC00000u)] // quiet NaN
    [InlineData(0xFFC00000u)] // negative quiet NaN
    [InlineData(0x7F800001u)] // signalling NaN whose payload lives only in the low 16 bits
    [InlineData(0xFF800001u)]
    [InlineData(0x7FFFFFFFu)] // would carry into the sign bit if rounded like a number
    [InlineData(0x7F808000u)]
    public void Nan_stays_nan(uint floatBits)
    {
        var bits = FromBits(floatBits);
        Assert.True(float.IsNaN(BFloat16Bits.ToSingle(bits)), $"0x{floatBits:X8} became 0x{bits:X4}");
        Assert.Equal(floatBits >> 31, (uint)bits >> 15);
    }

    [Fact]
    public void Nan_of_the_runtime_stays_nan()
    {
        Assert.True(float.IsNaN(BFloat16Bits.ToSingle(BFloat16Bits.FromSingle(float.NaN))));
    }

    [Theory]
    [InlineData(0x00010000u, 0x0001)] // smallest bfloat16 subnormal, exact
    [InlineData(0x007F0000u, 0x007F)] // largest bfloat16 subnormal, exact
    [InlineData(0x00000001u, 0x0000)] // float.Epsilon is far below half the smallest bfloat16 subnormal
    [InlineData(0x00008000u, 0x0000)] // halfway between 0 and 0x0001: ties to even 0
    [InlineData(0x00008001u, 0x0001)]
    [InlineData(0x00018000u, 0x0002)] // halfway between 0x0001 and 0x0002: ties to even 0x0002
    [InlineData(0x007F8000u, 0x0080)] // rounds up out of the subnormals into the smallest normal
    [InlineData(0x80018000u, 0x8002)]
    public void Subnormals_round_like_normals(uint floatBits, int expected)
    {
        Assert.Equal((ushort)expected, FromBits(floatBits));
    }

    [Fact]
    public void To_single_places_the_bits_in_the_upper_half()
    {
        Assert.Equal(0x00010000u, BitConverter.SingleToUInt32Bits(BFloat16Bits.ToSingle(0x0001)));
        Assert.Equal(0x3F810000u, BitConverter.SingleToUInt32Bits(BFloat16Bits.ToSingle(0x3F81)));
    }

    [Fact]
    public void Every_non_nan_bfloat16_survives_widening_and_narrowing()
    {
        for (var bits = 0; bits <= ushort.MaxValue; bits++)
        {
            var value = BFloat16Bits.ToSingle((ushort)bits);
            if (float.IsNaN(value))
            {
                Assert.True(float.IsNaN(BFloat16Bits.ToSingle(BFloat16Bits.FromSingle(value))));
                continue;
            }
            Assert.Equal((ushort)bits, BFloat16Bits.FromSingle(value));
        }
    }
}
