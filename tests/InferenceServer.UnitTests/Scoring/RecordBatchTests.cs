using System.Globalization;
using InferenceServer.Core.Scoring;

namespace InferenceServer.UnitTests.Scoring;

/// <summary>A batch's cells as the readers fill them and as keys and quarantine read them back.</summary>
public sealed class RecordBatchTests
{
    // CellText formats whole numbers as integers, for speed: the text must be exactly what "R" writes, at every edge.
    [Theory]
    [InlineData(0.0)]
    [InlineData(7.0)]
    [InlineData(-7.0)]
    [InlineData(1234567.0)]
    [InlineData(2.5)]
    [InlineData(-0.125)]
    [InlineData(1e14)]
    [InlineData(999999999999999.0)]
    [InlineData(1e15)]
    [InlineData(-1e15)]
    [InlineData(9007199254740993.0)]
    [InlineData(1e300)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void ANumbersTextIsItsRoundTripText(double value) => AssertRoundTripText(value);

    [Fact]
    public void NegativeZeroKeepsItsSign() => AssertRoundTripText(-0.0);

    private static void AssertRoundTripText(double value)
    {
        using var batch = new RecordBatch(["n"]);
        batch.Reset(1);
        batch.AddRow(1);
        batch.Cells.SetNumber(0, 0, value);
        Assert.Equal(value.ToString("R", CultureInfo.InvariantCulture), batch.Cells.CellText(0, 0));
    }

    [Fact]
    public void ColumnsFilledABlockAtATimeKeepTheirMissingCells()
    {
        using var batch = new RecordBatch(["a", "b"]);
        batch.Reset(4);
        batch.AddRow(1);
        var first = batch.AddRows(3, 2);
        batch.Cells.SetNumbers(0, first, [1.5, 2.5, 3.5], [true, false, true]);
        Assert.Equal((1, 4), (first, batch.Count));
        Assert.Equal([1L, 2, 3, 4], Enumerable.Range(0, 4).Select(batch.RowNumber));
        Assert.Equal([null, "1.5", null, "3.5"], Enumerable.Range(0, 4).Select(r => batch.Cells.CellText(0, r)));
        Assert.All(Enumerable.Range(0, 4), r => Assert.True(batch.Cells.IsMissing(1, r)));
        Assert.Throws<InvalidOperationException>(() => batch.AddRows(1, 5));
    }

    [Fact]
    public void CodedTextsKeepTheirCodesAndAColumnCodedAgainstOtherValuesIsCopied()
    {
        ReadOnlyMemory<char>[] values = ["Private".AsMemory(), "State-gov".AsMemory()];
        using var batch = new RecordBatch(["t"]);
        batch.Reset(5);
        var first = batch.AddRows(3, 1);
        batch.Cells.SetCodedTexts(0, first, [1, -1, 0], values);
        Assert.Same(values, batch.Cells.TextValues(0));
        Assert.True(batch.Cells.TryGetTextCode(0, 0, out var code));
        Assert.Equal(1, code);
        Assert.False(batch.Cells.TryGetTextCode(0, 1, out _));
        Assert.True(batch.Cells.IsMissing(0, 1));
        Assert.Equal(["State-gov", null, "Private"], Enumerable.Range(0, 3).Select(r => batch.Cells.CellText(0, r)));
        // A key read from a coded cell is the value's own string, not a copy a row.
        Assert.Same(batch.Cells.CellText(0, 0), batch.Cells.CellText(0, 0));
        // Codes into other values than the column's: copied as text, readable all the same.
        first = batch.AddRows(2, 4);
        batch.Cells.SetCodedTexts(0, first, [0, 0], ["Local-gov".AsMemory()]);
        Assert.False(batch.Cells.TryGetTextCode(0, 3, out _));
        Assert.Equal(["Local-gov", "Local-gov"], Enumerable.Range(3, 2).Select(r => batch.Cells.CellText(0, r)));
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.Cells.SetCodedTexts(0, 0, [2], values));
        // A reset forgets the column's values.
        batch.Reset(5);
        Assert.Null(batch.Cells.TextValues(0));
    }
}
