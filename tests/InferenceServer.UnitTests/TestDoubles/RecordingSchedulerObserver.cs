using System.Collections.Concurrent;
using InferenceServer.Core.Scheduling;

namespace InferenceServer.UnitTests.TestDoubles;

/// <summary>Counts what a scheduler reports, for assertions; thread-safe.</summary>
public sealed class RecordingSchedulerObserver : ISchedulerObserver
{
    private readonly ConcurrentQueue<int> _batchSizes = new();
    private readonly ConcurrentQueue<SchedulerFailure> _failures = new();
    private readonly ConcurrentQueue<TimeSpan> _queueTimes = new();
    private readonly SemaphoreSlim _succeeded = new(0);
    private readonly SemaphoreSlim _failed = new(0);
    private int _queued;
    private int _dequeued;
    private int _pending;
    private int _maxPending;
    private int _resourceWaits;

    public int Queued => Volatile.Read(ref _queued);

    public int Dequeued => Volatile.Read(ref _dequeued);

    /// <summary>The pending count as a statistics observer would keep it.</summary>
    public int Pending => Volatile.Read(ref _pending);

    public int MaxPending => Volatile.Read(ref _maxPending);

    public int[] BatchSizes => _batchSizes.ToArray();

    public SchedulerFailure[] Failures => _failures.ToArray();

    /// <summary>Queue times of successful requests.</summary>
    public TimeSpan[] QueueTimes => _queueTimes.ToArray();

    public int Succeeded { get; private set; }

    /// <summary>Completes once <paramref name="count"/> more successes have been reported.</summary>
    public async Task WaitForSuccessesAsync(int count)
    {
        for (var i = 0; i < count; i++)
        {
            await _succeeded.WaitAsync();
        }
    }

    /// <summary>Completes once <paramref name="count"/> more failures have been reported.</summary>
    public async Task WaitForFailuresAsync(int count)
    {
        for (var i = 0; i < count; i++)
        {
            await _failed.WaitAsync();
        }
    }

    public void RequestQueued()
    {
        Interlocked.Increment(ref _queued);
        var pending = Interlocked.Increment(ref _pending);
        int max;
        while (pending > (max = Volatile.Read(ref _maxPending)) && Interlocked.CompareExchange(ref _maxPending, pending, max) != max)
        {
        }
    }

    public void RequestDequeued()
    {
        Interlocked.Increment(ref _dequeued);
        Interlocked.Decrement(ref _pending);
    }

    public void BatchExecuted(int batchSize, TimeSpan computeInput, TimeSpan computeInfer, TimeSpan computeOutput) => _batchSizes.Enqueue(batchSize);

    public void RequestSucceeded(TimeSpan queue, TimeSpan computeInput, TimeSpan computeInfer, TimeSpan computeOutput)
    {
        _queueTimes.Enqueue(queue);
        lock (_queueTimes)
        {
            Succeeded++;
        }
        _succeeded.Release();
    }

    public void RequestFailed(SchedulerFailure failure, TimeSpan queue)
    {
        _failures.Enqueue(failure);
        _failed.Release();
    }

    /// <summary>How many times an instance waited for rate-limiter resources.</summary>
    public int ResourceWaits => Volatile.Read(ref _resourceWaits);

    public void ResourcesWaited(TimeSpan waited) => Interlocked.Increment(ref _resourceWaits);
}
