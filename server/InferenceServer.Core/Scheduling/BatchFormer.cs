using InferenceServer.Core.Repository;

namespace InferenceServer.Core.Scheduling;

/// <summary>
/// Decides what runs next, and when: Triton's dynamic batcher's batch forming, apart from the queue
/// and its policy. With batching on, a batch is the head of the queue followed by every compatible
/// request that fits in max_batch_size; it goes at once when it reaches a preferred size or is full,
/// otherwise once its oldest request has waited max_queue_delay_microseconds. With batching off (a
/// model that does not batch, or has no dynamic_batching: Triton's default scheduler) a batch is the
/// head of the queue alone, at once.
/// </summary>
internal sealed class BatchFormer
{
    private readonly int _maxBatchSize;
    private readonly bool[] _preferred;
    private readonly long _delayTicks;
    private readonly int _scanLimit;

    public BatchFormer(int maxBatchSize, ModelDynamicBatching? batching, long timestampFrequency)
    {
        Batching = batching is not null && maxBatchSize > 0;
        _maxBatchSize = Batching ? maxBatchSize : 1;
        Capacity = _maxBatchSize;
        _preferred = new bool[_maxBatchSize + 1];
        if (batching is not null && Batching)
        {
            foreach (var size in batching.PreferredBatchSize)
            {
                // A preferred size above max_batch_size can never be formed; Triton rejects such configs.
                if (size >= 1 && size <= maxBatchSize)
                {
                    _preferred[size] = true;
                }
            }
            _delayTicks = Timestamps.FromMicroseconds((long)batching.MaxQueueDelayMicroseconds, timestampFrequency);
        }
        // Bounds the time the lock is held when the head cannot be joined by much of what waits behind it.
        _scanLimit = Math.Max(64, 4 * _maxBatchSize);
    }

    /// <summary>Whether requests are joined into batches.</summary>
    public bool Batching { get; }

    /// <summary>The most requests one batch can hold.</summary>
    public int Capacity { get; }

    /// <summary>
    /// Picks the next batch from <paramref name="queue"/> into <paramref name="batch"/> (leaving the requests
    /// queued), or decides to wait: false, with the timestamp at which waiting ends in <paramref name="wakeAt"/>
    /// (<see cref="long.MaxValue"/> when only a new request can change the decision). While
    /// <paramref name="closing"/>, nothing waits for the delay.
    /// </summary>
    public bool TryForm(RequestQueue queue, long now, bool closing, Batch batch, out long wakeAt)
    {
        wakeAt = long.MaxValue;
        var head = queue.First;
        if (head is null)
        {
            return false;
        }
        if (!Batching)
        {
            batch.Requests[0] = head;
            batch.Count = 1;
            batch.TotalSize = head.BatchSize;
            return true;
        }

        var requests = batch.Requests;
        var count = 0;
        var total = 0;
        var preferredCount = 0;
        var preferredTotal = 0;
        var oldest = long.MaxValue;
        var full = false;
        var examined = 0;
        for (var request = head; request is not null; request = queue.After(request))
        {
            if (++examined > _scanLimit)
            {
                break;
            }
            if (count == 0)
            {
                if (request.BatchSize >= _maxBatchSize || request.Work.Inputs.Count == 0)
                {
                    // Alone it fills the batch (or it has nothing to join along).
                    requests[count++] = request;
                    total = request.BatchSize;
                    oldest = request.EnqueuedAt;
                    full = true;
                    break;
                }
            }
            else if (!BatchAssembler.CanJoin(head.Work, request.Work))
            {
                // Never mixed in; as the head of a later batch it starts that batch.
                continue;
            }
            else if (total + request.BatchSize > _maxBatchSize)
            {
                full = true;
                break;
            }
            requests[count++] = request;
            total += request.BatchSize;
            oldest = Math.Min(oldest, request.EnqueuedAt);
            if (_preferred[total])
            {
                preferredCount = count;
                preferredTotal = total;
            }
            if (total == _maxBatchSize)
            {
                full = true;
                break;
            }
        }

        if (preferredCount > 0)
        {
            // The largest preferred size the queue can form goes at once.
            Array.Clear(requests, preferredCount, count - preferredCount);
            count = preferredCount;
            total = preferredTotal;
        }
        else if (!full && !closing && now - oldest < _delayTicks)
        {
            // Waiting may still fill the batch (or reach a preferred size).
            Array.Clear(requests, 0, count);
            wakeAt = oldest + _delayTicks;
            return false;
        }
        batch.Count = count;
        batch.TotalSize = total;
        return true;
    }
}
