using System.Buffers;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// The pool of a Parquet row group's pages and column arrays (megabytes each). Not <see cref="ArrayPool{T}.Shared"/>:
/// that pool keeps an array per size in every thread that returned one, and the lanes' continuations run on whichever
/// pool thread is free, so a run kept a set of row-group-sized arrays per thread alive. Not a pool of a number of
/// arrays per size either: that one came to keep, in a 10M-row run, about 75 MB of free pages (five of each size from
/// 1 to 8 MB) on top of the pages the read budget admitted. This one keeps a bounded number of bytes of free arrays of
/// each element type, whatever the thread: at least <see cref="FreeBytes"/>, and as much as the run's reading may hold
/// (<see cref="ColumnPoolLimit"/>), so a row group's pages go back to the pool for the next row group instead of to
/// the collector.
/// </summary>
internal static class ColumnPool<T>
{
    /// <summary>The free arrays kept at least, in bytes: the read share of a 64 MB memory limit.</summary>
    public const long FreeBytes = 32L << 20;

    public static ArrayPool<T> Shared { get; } = ColumnPoolLimit.Register(new BoundedArrayPool<T>(FreeBytes));
}
