using System.Text;
using InferenceServer.Core.Features;

namespace InferenceServer.UnitTests.Features;

/// <summary>
/// The one cell store behind a view's request values and a scoring batch: a cell copied from another store (a batch's
/// row into a view's) reads back exactly as it was, codes and all, and text copied within one store survives the
/// store's text buffer growing under it.
/// </summary>
public sealed class CellColumnsTests
{
    [Fact]
    public void ACopiedCellReadsBackAsItWasWithItsCode()
    {
        ReadOnlyMemory<char>[] values = ["Private".AsMemory(), "State-gov".AsMemory()];
        using var from = new CellColumns(4);
        from.Reset(2);
        from.AddRows(2);
        from.SetNumber(0, 0, 39.5);
        from.SetText(1, 0, "Bachelors");
        from.SetCodedTexts(2, 0, [1, -1], values);
        // Row 1 stays missing in columns 0, 1 and 3; column 2 is coded missing.

        using var to = new CellColumns(3);
        to.Reset(2);
        to.AddRows(2);
        to.SetNumber(0, 1, 7);
        for (var row = 0; row < 2; row++)
        {
            to.CopyCell(from, 0, row, 0, row);
            to.CopyCell(from, 1, row, 1, row);
            to.CopyCell(from, 2, row, 2, row);
        }

        Assert.True(to.TryGetNumber(0, 0, out var number));
        Assert.Equal(39.5, number);
        Assert.True(to.TryGetText(1, 0, out var text));
        Assert.Equal("Bachelors", text.ToString());
        Assert.Same(values, to.TextValues(2));
        Assert.True(to.TryGetTextCode(2, 0, out var code));
        Assert.Equal(1, code);
        Assert.Equal("State-gov", to.CellText(2, 0));
        // A missing cell copied over a value leaves it missing, as the source is.
        Assert.All(Enumerable.Range(0, 3), c => Assert.True(to.IsMissing(c, 1)));
    }

    [Fact]
    public void ACodedCellCopiedIntoAColumnCodedAgainstOtherValuesIsCopiedAsText()
    {
        ReadOnlyMemory<char>[] values = ["a".AsMemory(), "b".AsMemory()];
        ReadOnlyMemory<char>[] others = ["b".AsMemory()];
        using var from = new CellColumns(1);
        from.Reset(1);
        from.AddRows(1);
        from.SetCodedTexts(0, 0, [1], values);
        using var to = new CellColumns(1);
        to.Reset(2);
        to.AddRows(2);
        to.SetCodedTexts(0, 0, [0], others);

        to.CopyCell(from, 0, 0, 0, 1);

        Assert.Same(others, to.TextValues(0));
        Assert.False(to.TryGetTextCode(0, 1, out _));
        Assert.True(to.TryGetText(0, 1, out var text));
        Assert.Equal("b", text.ToString());
    }

    [Fact]
    public void TextCopiedWithinTheStoreSurvivesItsBufferGrowing()
    {
        // Long enough that copies grow the text buffer while the value they copy lies in the array being replaced.
        var value = new string('x', 3000) + "end";
        using var cells = new CellColumns(4);
        cells.Reset(1);
        cells.AddRow();
        cells.SetText(0, 0, value);
        for (var c = 1; c < 4; c++)
        {
            cells.CopyCell(cells, c - 1, 0, c, 0);
        }
        Assert.All(Enumerable.Range(0, 4), c => Assert.Equal(value, cells.CellText(c, 0)));
    }

    [Fact]
    public void Utf8TextIsDecodedWithInvalidBytesAsReplacementCharacters()
    {
        using var cells = new CellColumns(2);
        cells.Reset(1);
        cells.AddRow();
        cells.SetText(0, 0, Encoding.UTF8.GetBytes("Ünïcödé"));
        cells.SetText(1, 0, [(byte)'a', 0xFF, (byte)'b']);
        Assert.Equal("Ünïcödé", cells.CellText(0, 0));
        Assert.Equal("a\uFFFDb", cells.CellText(1, 0));
    }

    [Fact]
    public void FillingAndCopyingRowsAllocatesNothingOnceTheStoresHaveGrown()
    {
        ReadOnlyMemory<char>[] values = ["Private".AsMemory(), "State-gov".AsMemory()];
        int[] codes = [.. Enumerable.Repeat(1, 256)];
        using var batch = new CellColumns(3);
        using var rows = new CellColumns(3);
        // A local function, not a lambda: calling it allocates no closure.
        void Fill()
        {
            batch.Reset(256);
            rows.Reset(256);
            for (var row = 0; row < 256; row++)
            {
                batch.AddRow();
                batch.SetNumber(0, row, row);
                batch.SetText(1, row, "Bachelors");
                rows.AddRow();
            }
            batch.SetCodedTexts(2, 0, codes, values);
            for (var row = 0; row < 256; row++)
            {
                for (var c = 0; c < 3; c++)
                {
                    rows.CopyCell(batch, c, row, c, row);
                }
            }
        }
        Fill();

        var before = GC.GetAllocatedBytesForCurrentThread();
        Fill();

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal("Bachelors", rows.CellText(1, 255));
        Assert.Equal("State-gov", rows.CellText(2, 255));
    }

    [Fact]
    public void AResetForgetsTheRowsTheirTextsAndTheColumnsValues()
    {
        using var cells = new CellColumns(1);
        cells.Reset(2);
        cells.AddRows(2);
        cells.SetCodedTexts(0, 0, [0, 0], ["a".AsMemory()]);
        Assert.Throws<InvalidOperationException>(() => cells.AddRow());

        cells.Reset(2);

        Assert.Equal(0, cells.Count);
        Assert.Null(cells.TextValues(0));
        Assert.Equal(0, cells.AddRow());
        Assert.True(cells.IsMissing(0, 0));
    }
}
