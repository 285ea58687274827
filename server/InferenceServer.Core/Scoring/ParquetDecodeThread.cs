using System.Collections.Concurrent;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// The one thread that decodes Parquet row groups. Parquet.Net rents its page buffers (megabytes each: a column
/// chunk is often one page) from the shared array pool, which keeps one array of each size per thread that returned
/// one; decoded on whichever pool thread was free, a run came to keep a set of them per thread (measured: 120 MB more
/// live heap per row group of a million rows). Decoded here, with reads that complete in place
/// (<see cref="SynchronousReadStream"/>), they are rented and returned on this thread only: one set, reused.
/// </summary>
internal static class ParquetDecodeThread
{
    private static readonly BlockingCollection<Action> Work = Start();

    /// <summary>Runs <paramref name="decode"/> on the decode thread, after what was asked before it.</summary>
    public static Task<T> RunAsync<T>(Func<Task<T>> decode)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Work.Add(() =>
        {
            try
            {
                // Completes in place: every read of the stream does (see the type's remarks).
                done.TrySetResult(decode().GetAwaiter().GetResult());
            }
            catch (OperationCanceledException e)
            {
                done.TrySetCanceled(e.CancellationToken);
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        });
        return done.Task;
    }

    private static BlockingCollection<Action> Start()
    {
        var work = new BlockingCollection<Action>();
        var thread = new Thread(() =>
        {
            foreach (var item in work.GetConsumingEnumerable())
            {
                item();
            }
        })
        {
            IsBackground = true,
            Name = "parquet decode",
        };
        thread.Start();
        return work;
    }
}
