namespace InferenceServer.Core.Scoring;

/// <summary>
/// The bound on the free arrays every <see cref="ColumnPool{T}"/> keeps, raised to what the run's reading may hold: the
/// read share of the memory limit, or a row group admitted alone when it needs more. Below that bound, each row group
/// after the first rents the arrays the one before it gave back. Under it, a run whose row groups hold more than the
/// pool keeps (income's 1M-row row groups: 38 MB of pages against 32 MB) gave the surplus to the collector and
/// allocated it again, 11 MB a row group, and the large-object heap grew by about 75 MB of garbage between its
/// collections.
/// </summary>
internal static class ColumnPoolLimit
{
    private static readonly Lock Gate = new();
    private static readonly List<Action<long>> Pools = [];
    private static long _bytes;

    /// <summary>Raises every column pool's bound, and that of the pools made later, to <paramref name="bytes"/>.</summary>
    public static void KeepAtLeast(long bytes)
    {
        lock (Gate)
        {
            if (bytes <= _bytes)
            {
                return;
            }
            _bytes = bytes;
            foreach (var raise in Pools)
            {
                raise(bytes);
            }
        }
    }

    /// <summary>Makes <paramref name="pool"/> follow <see cref="KeepAtLeast"/>.</summary>
    public static BoundedArrayPool<T> Register<T>(BoundedArrayPool<T> pool)
    {
        lock (Gate)
        {
            pool.KeepAtLeast(_bytes);
            Pools.Add(pool.KeepAtLeast);
        }
        return pool;
    }
}
