using System.Collections.Concurrent;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// A thread of its own for Parquet.Net's work: one decodes input row groups (<see cref="Decode"/>), one encodes output
/// row groups (<see cref="Encode"/>). Parquet.Net rents its buffers (megabytes each: a column chunk is often one page)
/// from the shared array pool, which keeps one array of each size per thread that returned one; run on whichever pool
/// thread was free, a run came to keep a set of them per thread, and more threads as it went on (measured: the reader's
/// live heap grew by 120 MB a row group of a million rows; with the writer's, the live heap grew from 92 to 163 MB
/// over a 10M-row run, where the same run writing CSV stayed at 95 MB). Run here, with reads and writes that complete
/// in place (<see cref="SynchronousReadStream"/>, <see cref="HashingStream"/>), they are rented and returned on one
/// thread only: one set, reused.
/// </summary>
internal sealed class ParquetThread
{
    /// <summary>Where input row groups are decoded.</summary>
    public static readonly ParquetThread Decode = new("parquet decode");

    /// <summary>Where output row groups are encoded and written.</summary>
    public static readonly ParquetThread Encode = new("parquet encode");

    private readonly BlockingCollection<Action> _work = [];

    private ParquetThread(string name)
    {
        var thread = new Thread(() =>
        {
            foreach (var item in _work.GetConsumingEnumerable())
            {
                item();
            }
        })
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
    }

    /// <summary>Runs <paramref name="work"/> on this thread, after what was asked before it.</summary>
    public Task<T> RunAsync<T>(Func<Task<T>> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(() =>
        {
            try
            {
                // Completes in place: every read and write of the streams given to Parquet.Net does.
                done.TrySetResult(work().GetAwaiter().GetResult());
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

    /// <summary>Runs <paramref name="work"/> on this thread, after what was asked before it.</summary>
    public Task RunAsync(Func<Task> work) => RunAsync(async () =>
    {
        await work().ConfigureAwait(false);
        return true;
    });
}
