using InferenceServer.Core.Scoring;

namespace InferenceServer.UnitTests.Scoring;

/// <summary>
/// The column pool keeps at most its limit of free bytes, whatever sizes come back: an array past the limit is left to
/// the collector, and one kept is the one rented next of its size.
/// </summary>
public sealed class BoundedArrayPoolTests
{
    [Fact]
    public void FreeArraysNeverExceedTheLimitAndAreReused()
    {
        var pool = new BoundedArrayPool<int>(freeBytesLimit: 64 * 1024);
        // Rented at once: 4 KB, 16 KB, 64 KB and 128 KB of ints (powers of two, at least what was asked).
        var arrays = new[] { 1000, 4096, 10_000, 32_768 }.Select(pool.Rent).ToArray();
        Assert.Equal([1024, 4096, 16_384, 32_768], arrays.Select(a => a.Length));
        foreach (var array in arrays)
        {
            pool.Return(array);
            Assert.InRange(pool.FreeBytes, 0, pool.FreeBytesLimit);
        }
        // 4 + 16 + 64 KB fit in 64 KB? No: 4 + 16 fit (20 KB), the 64 KB one would pass the limit, the 128 KB one too.
        Assert.Equal((1024 + 4096) * sizeof(int), pool.FreeBytes);
        Assert.Same(arrays[1], pool.Rent(3000));
        Assert.Same(arrays[0], pool.Rent(1024));
        Assert.Equal(0, pool.FreeBytes);
        Assert.NotSame(arrays[2], pool.Rent(16_384));
        // An array of another size than the pool's (not a power of two) is not kept.
        pool.Return(new int[1000]);
        Assert.Equal(0, pool.FreeBytes);
        Assert.Empty(pool.Rent(0));
    }

    [Fact]
    public void ARaisedLimitKeepsWhatTheLowerOneLeftToTheCollector()
    {
        var pool = new BoundedArrayPool<byte>(freeBytesLimit: 1024);
        var page = pool.Rent(4096);
        pool.Return(page);
        Assert.Equal(0, pool.FreeBytes);
        pool.KeepAtLeast(8192);
        pool.KeepAtLeast(2048);
        Assert.Equal(8192, pool.FreeBytesLimit);
        page = pool.Rent(4096);
        pool.Return(page);
        Assert.Equal(4096, pool.FreeBytes);
        Assert.Same(page, pool.Rent(4000));
    }

    [Fact]
    public void ColumnPoolsFollowTheReadShareAndPoolsMadeLaterStartFromIt()
    {
        var early = ColumnPoolLimit.Register(new BoundedArrayPool<short>(freeBytesLimit: 1024));
        // Raising to the default column-pool bound plus a little changes nothing another test relies on.
        var bytes = ColumnPool<byte>.FreeBytes + 4096;
        ColumnPoolLimit.KeepAtLeast(bytes);
        Assert.True(early.FreeBytesLimit >= bytes);
        var late = ColumnPoolLimit.Register(new BoundedArrayPool<short>(freeBytesLimit: 1024));
        Assert.True(late.FreeBytesLimit >= bytes);
    }
}
