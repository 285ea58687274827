using InferenceServer.Core.Scoring;

namespace InferenceServer.UnitTests.Scoring;

/// <summary>
/// Under a GC heap hard limit (DOTNET_GCHeapHardLimit, or 75% of a container's memory limit) a run holds at most half
/// of what the collector may hold, whatever --memory-limit asks: the default 256MB in a container that allows the heap
/// 128 MB ran out of memory. An unknown limit changes nothing.
/// </summary>
public sealed class ScoreMemoryLimitTests
{
    [Theory]
    [InlineData(256L << 20, 128L << 20, 64L << 20)]
    [InlineData(64L << 20, 128L << 20, 64L << 20)]
    [InlineData(32L << 20, 128L << 20, 32L << 20)]
    [InlineData(256L << 20, 16L << 30, 256L << 20)]
    [InlineData(256L << 20, 0L, 256L << 20)]
    public void TheRunHoldsAtMostHalfOfWhatTheCollectorMayHold(long asked, long heap, long expected) =>
        Assert.Equal(expected, ScorePipeline.CapMemoryLimit(asked, heap));

    [Fact]
    public void AnOutOfMemoryErrorSaysWhatRanOutWhatTheLimitsAreAndWhatToChange()
    {
        var error = ScoreException.OutOfMemory("reading and decoding the input", 64L << 20, new OutOfMemoryException());
        Assert.StartsWith("out of memory while reading and decoding the input: this process may hold ", error.Message, StringComparison.Ordinal);
        Assert.Contains("the run 64 MB (--memory-limit)", error.Message, StringComparison.Ordinal);
        Assert.Contains("give a lower --memory-limit", error.Message, StringComparison.Ordinal);
        Assert.Contains("--resume continues", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.IsType<OutOfMemoryException>(error.InnerException);
    }
}
