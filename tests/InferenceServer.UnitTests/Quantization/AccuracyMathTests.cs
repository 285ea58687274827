using InferenceServer.Core.Quantization;

namespace InferenceServer.UnitTests.Quantization;

/// <summary>The gate's AUC and argmax on numbers whose answers are known by hand.</summary>
public sealed class AccuracyMathTests
{
    [Fact]
    public void AucIsTheShareOfPositiveNegativePairsRankedRight()
    {
        // Pairs (positive, negative): (0.35, 0.1) right, (0.35, 0.4) wrong, (0.8, 0.1) right, (0.8, 0.4) right: 3 of 4.
        Assert.Equal(0.75, AccuracyMath.Auc([0.1, 0.4, 0.35, 0.8], [false, false, true, true])!.Value, 12);
        Assert.Equal(1.0, AccuracyMath.Auc([0.1, 0.2, 0.7, 0.9], [false, false, true, true])!.Value, 12);
        Assert.Equal(0.0, AccuracyMath.Auc([0.9, 0.7, 0.2, 0.1], [false, false, true, true])!.Value, 12);
    }

    [Fact]
    public void TiedScoresCountHalf()
    {
        Assert.Equal(0.5, AccuracyMath.Auc([0.5, 0.5], [false, true])!.Value, 12);
        // (0.5+, 0.5-) half, (0.5+, 0.2-) right, (0.9+, both) right: 3.5 of 4.
        Assert.Equal(0.875, AccuracyMath.Auc([0.5, 0.5, 0.2, 0.9], [true, false, false, true])!.Value, 12);
    }

    [Fact]
    public void AucOfOneClassIsUndefined()
    {
        Assert.Null(AccuracyMath.Auc([0.1, 0.9], [true, true]));
        Assert.Null(AccuracyMath.Auc([], []));
        Assert.Throws<ArgumentException>(() => AccuracyMath.Auc([0.1], [true, false]));
    }

    [Fact]
    public void ArgMaxTakesTheFirstOfEqualLargest()
    {
        Assert.Equal(2, AccuracyMath.ArgMax([0.1, 0.3, 0.6]));
        Assert.Equal(1, AccuracyMath.ArgMax([0.1, 0.6, 0.6]));
        Assert.Equal(0, AccuracyMath.ArgMax([7.0]));
    }
}
