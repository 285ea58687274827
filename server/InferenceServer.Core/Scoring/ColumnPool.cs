using System.Buffers;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// The pool of a Parquet row group's column arrays (megabytes each). Not <see cref="ArrayPool{T}.Shared"/>: that pool
/// keeps an array per size in every thread that returned one, and the lanes' continuations run on whichever pool
/// thread is free, so a run kept a set of row-group-sized arrays per thread alive. This one keeps a few per size,
/// whatever the thread: what the run holds stays what the read budget admitted.
/// </summary>
internal static class ColumnPool<T>
{
    // Two lanes of a row group with a dozen columns of the same width, and their passing buffers.
    private const int ArraysPerSize = 32;

    public static ArrayPool<T> Shared { get; } = ArrayPool<T>.Create(1 << 30, ArraysPerSize);
}
