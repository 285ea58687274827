using InferenceServer.Core.Routing.Shadow;
using InferenceServer.Core.Tensors;
using static InferenceServer.UnitTests.Routing.Shadow.ShadowTensors;

namespace InferenceServer.UnitTests.Routing.Shadow;

/// <summary>The comparison of a shadow's answer with the primary's, against differences worked out by hand.</summary>
public sealed class ShadowComparerTests
{
    private static List<ShadowOutputDifference> Compare(Tensor[] primary, Tensor[] shadow, string decisionOutput = "", double threshold = 0.5)
    {
        var differences = new List<ShadowOutputDifference>();
        try
        {
            ShadowComparer.Compare(primary, shadow, decisionOutput, threshold, differences);
        }
        finally
        {
            foreach (var tensor in primary)
            {
                tensor.Dispose();
            }
            foreach (var tensor in shadow)
            {
                tensor.Dispose();
            }
        }
        return differences;
    }

    private static ShadowOutputDifference CompareOne(Tensor primary, Tensor shadow, string decisionOutput = "") =>
        Assert.Single(Compare([primary], [shadow], decisionOutput));

    [Fact]
    public void Every_numeric_type_gives_the_sum_of_absolute_differences()
    {
        long[] shape = [1, 2];
        var cases = new (string Type, Func<Tensor> Primary, Func<Tensor> Shadow, double Sum)[]
        {
            ("FP32", () => Fp32("y", shape, 0.25f, -1f), () => Fp32("y", shape, 0.5f, -1.5f), 0.75),
            ("FP64", () => Of("y", DataType.Fp64, shape, 1.5, -2.25), () => Of("y", DataType.Fp64, shape, 1.0, -2.0), 0.75),
            ("FP16", () => Of("y", DataType.Fp16, shape, (Half)0.5, (Half)1.5), () => Of("y", DataType.Fp16, shape, (Half)0.25, (Half)1.5), 0.25),
            ("BF16", () => Of("y", DataType.Bf16, shape, BFloat16Bits.FromSingle(2), BFloat16Bits.FromSingle(-1)),
                () => Of("y", DataType.Bf16, shape, BFloat16Bits.FromSingle(1), BFloat16Bits.FromSingle(-1)), 1),
            ("INT8", () => Of("y", DataType.Int8, shape, (sbyte)-3, (sbyte)5), () => Of("y", DataType.Int8, shape, (sbyte)1, (sbyte)5), 4),
            ("UINT8", () => Of("y", DataType.UInt8, shape, (byte)200, (byte)0), () => Of("y", DataType.UInt8, shape, (byte)100, (byte)0), 100),
            ("INT16", () => Of("y", DataType.Int16, shape, (short)-300, (short)2), () => Of("y", DataType.Int16, shape, (short)300, (short)2), 600),
            ("UINT16", () => Of("y", DataType.UInt16, shape, ushort.MaxValue, (ushort)0), () => Of("y", DataType.UInt16, shape, (ushort)0, (ushort)0), 65535),
            ("INT32", () => Of("y", DataType.Int32, shape, int.MinValue, 0), () => Of("y", DataType.Int32, shape, 0, 0), 2147483648.0),
            ("UINT32", () => Of("y", DataType.UInt32, shape, 4_000_000_000u, 0u), () => Of("y", DataType.UInt32, shape, 0u, 0u), 4e9),
            ("INT64", () => Of("y", DataType.Int64, shape, -5L, 7L), () => Of("y", DataType.Int64, shape, 5L, 7L), 10),
            ("UINT64", () => Of("y", DataType.UInt64, shape, 10UL, 1UL << 63), () => Of("y", DataType.UInt64, shape, 4UL, 1UL << 63), 6),
            ("BOOL", () => Of("y", DataType.Bool, shape, (byte)1, (byte)0), () => Of("y", DataType.Bool, shape, (byte)0, (byte)0), 1),
        };
        foreach (var (type, primary, shadow, sum) in cases)
        {
            var difference = CompareOne(primary(), shadow());
            Assert.True(difference == new ShadowOutputDifference("y", false, 2, sum, 0, 0, 0), $"{type}: {difference}");
            Assert.Equal(sum / 2, new ShadowOutputSnapshot("y", 1, 0, difference.Elements, difference.AbsoluteDifferenceSum, 0, 0, 0).MeanAbsoluteDifference);
        }
    }

    [Fact]
    public void Two_numeric_types_of_the_same_shape_compare_as_numbers()
    {
        var difference = CompareOne(Fp32("p", [2], 0.25f, 0.75f), Of("p", DataType.Fp64, [2], 0.5, 0.75));
        Assert.Equal(new ShadowOutputDifference("p", false, 2, 0.25, 0, 2, 1), difference);
    }

    [Fact]
    public void Decisions_flip_where_the_two_fall_on_different_sides_of_the_threshold()
    {
        // 0.25 | 0.5: flip; 0.75 | 0.25: flip; 0.5 | 0.5: both positive (at the threshold); 0 | 0.125: both negative.
        var difference = CompareOne(Fp32("probability", [4, 1], 0.25f, 0.75f, 0.5f, 0f), Fp32("probability", [4, 1], 0.5f, 0.25f, 0.5f, 0.125f));
        Assert.Equal(new ShadowOutputDifference("probability", false, 4, 0.875, 0, 4, 2), difference);

        var raised = Assert.Single(Compare([Fp32("probability", [4, 1], 0.25f, 0.75f, 0.5f, 0f)], [Fp32("probability", [4, 1], 0.5f, 0.25f, 0.5f, 0.125f)], threshold: 0.1));
        // At 0.1 only the last row (0 | 0.125) falls on both sides.
        Assert.Equal(1, raised.Flips);
    }

    [Fact]
    public void Without_a_decision_output_only_outputs_with_one_value_per_row_are_decisions()
    {
        var differences = Compare(
            [Fp32("scores", [2, 2], 0.25f, 0.75f, 0.75f, 0.25f), Fp32("probability", [2], 0.25f, 0.75f), Of("label", DataType.Int64, [2, 1, 1], 0L, 1L), Fp32("scalar", [], 0.75f)],
            [Fp32("scores", [2, 2], 0.75f, 0.25f, 0.75f, 0.25f), Fp32("probability", [2], 0.75f, 0.75f), Of("label", DataType.Int64, [2, 1, 1], 1L, 1L), Fp32("scalar", [], 0.25f)]);

        Assert.Equal(
            [
                new ShadowOutputDifference("scores", false, 4, 1, 0, 0, 0),
                new ShadowOutputDifference("probability", false, 2, 0.5, 0, 2, 1),
                new ShadowOutputDifference("label", false, 2, 1, 0, 2, 1),
                new ShadowOutputDifference("scalar", false, 1, 0.5, 0, 1, 1),
            ],
            differences);
    }

    [Fact]
    public void A_named_decision_output_is_the_only_one_and_every_value_in_it_is_a_decision()
    {
        var differences = Compare(
            [Fp32("scores", [2, 2], 0.25f, 0.75f, 0.75f, 0.25f), Fp32("probability", [2], 0.25f, 0.75f)],
            [Fp32("scores", [2, 2], 0.75f, 0.25f, 0.75f, 0.25f), Fp32("probability", [2], 0.75f, 0.75f)],
            decisionOutput: "scores");

        Assert.Equal(
            [new ShadowOutputDifference("scores", false, 4, 1, 0, 4, 2), new ShadowOutputDifference("probability", false, 2, 0.5, 0, 0, 0)],
            differences);
    }

    [Fact]
    public void Bytes_outputs_count_the_elements_that_differ()
    {
        var difference = CompareOne(Bytes("label", [3], "a", "bb", "c"), Bytes("label", [3], "a", "b", "c"));
        Assert.Equal(new ShadowOutputDifference("label", false, 3, 0, 1, 0, 0), difference);
    }

    [Fact]
    public void Nan_and_infinities_agree_with_themselves_and_otherwise_count_as_mismatches_outside_the_sum()
    {
        var difference = CompareOne(
            Fp32("y", [1, 5], float.NaN, float.PositiveInfinity, 1f, float.NaN, 2f),
            Fp32("y", [1, 5], float.NaN, float.PositiveInfinity, float.PositiveInfinity, 0f, 2.5f));
        Assert.Equal(new ShadowOutputDifference("y", false, 5, 0.5, 2, 0, 0), difference);
        Assert.Equal(0.5 / 3, new ShadowOutputSnapshot("y", 1, 0, 5, 0.5, 2, 0, 0).MeanAbsoluteDifference);
    }

    [Fact]
    public void Answers_of_different_shapes_or_kinds_are_a_mismatch_not_a_failure()
    {
        var differences = Compare(
            [Fp32("a", [2, 1], 1f, 2f), Fp32("b", [2], 1f, 2f), Bytes("c", [1], "x"), Of("d", DataType.Int32, [3], 1, 2, 3)],
            [Fp32("a", [1, 2], 1f, 2f), Bytes("b", [2], "1", "2"), Fp32("c", [1], 1f), Of("d", DataType.Int32, [2], 1, 2)]);

        Assert.Equal(
            [
                ShadowOutputDifference.Incomparable("a"),
                ShadowOutputDifference.Incomparable("b"),
                ShadowOutputDifference.Incomparable("c"),
                ShadowOutputDifference.Incomparable("d"),
            ],
            differences);
    }

    [Fact]
    public void Only_outputs_both_answers_hold_are_compared()
    {
        var differences = Compare([Fp32("only_primary", [1], 1f), Fp32("both", [1], 1f)], [Fp32("both", [1], 1f), Fp32("only_shadow", [1], 1f)]);
        Assert.Equal([new ShadowOutputDifference("both", false, 1, 0, 0, 1, 0)], differences);
    }

    [Fact]
    public void A_copy_is_compared_with_its_own_rows_of_a_batched_answer_where_they_lie()
    {
        // Rows 1 and 2 of the batch (bytes 4 to 12 of probability, 3 to 12 of label) belong to the copy.
        using var probability = Fp32("probability", [3, 1], 0.9f, 0.25f, 0.75f);
        using var label = Bytes("label", [3], "", "no", "yes");
        int[][] bounds = [[0, 4, 12], [0, 4, 17]];
        using var expected = Fp32("probability", [2, 1], 0.5f, 0.75f);
        using var expectedLabel = Bytes("label", [2], "no", "maybe");
        using var otherRows = Fp32("probability", [1, 1], 0.25f);
        var differences = new List<ShadowOutputDifference>();

        ShadowComparer.Compare([expected, expectedLabel], [probability, label], bounds, 1, 2, "", 0.5, differences);
        ShadowComparer.Compare([otherRows], [probability, label], bounds, 1, 2, "", 0.5, differences);

        Assert.Equal(
            [
                new ShadowOutputDifference("probability", false, 2, 0.25, 0, 2, 1),
                new ShadowOutputDifference("label", false, 2, 0, 1, 0, 0),
                ShadowOutputDifference.Incomparable("probability"),
            ],
            differences);
    }
}
