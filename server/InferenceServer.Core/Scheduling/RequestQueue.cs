using InferenceServer.Core.Repository;

namespace InferenceServer.Core.Scheduling;

/// <summary>
/// The scheduler's priority queue and its queue policy, kept apart from batch forming as Triton
/// keeps its PriorityQueue apart from its batcher: one FIFO per priority level, each with its
/// <c>ModelQueuePolicy</c> (max queue size, queue timeout, REJECT or DELAY when it expires). The
/// batch former walks it in priority order (<see cref="First"/>, <see cref="After"/>) and takes what
/// it picks. Guarded by the scheduler's lock.
/// </summary>
internal sealed class RequestQueue
{
    private readonly PriorityLevel[] _levels;
    private readonly RequestList[] _lists;
    private readonly long _frequency;

    /// <summary>
    /// The levels and policies of <paramref name="batching"/>; without it (a model without dynamic_batching) one level
    /// without a policy. What a level's policy leaves unset comes from <paramref name="defaults"/> (default: none, which
    /// is Triton's unbounded queue without timeout).
    /// </summary>
    public RequestQueue(ModelDynamicBatching? batching, long timestampFrequency, QueueDefaults? defaults = null)
    {
        _frequency = timestampFrequency;
        defaults ??= QueueDefaults.Unbounded;
        var levelCount = Math.Max((int)(batching?.PriorityLevels ?? 0), 1);
        Prioritized = batching is { PriorityLevels: > 0 };
        DefaultLevel = Prioritized ? (int)Math.Clamp(batching!.DefaultPriorityLevel, 1, (ulong)levelCount) : 1;
        _levels = new PriorityLevel[levelCount];
        _lists = new RequestList[2 * levelCount];
        for (var i = 0; i < levelCount; i++)
        {
            var policy = batching is null ? null
                : batching.PriorityQueuePolicy.TryGetValue((ulong)(i + 1), out var specific) ? specific
                : batching.DefaultQueuePolicy;
            var level = new PriorityLevel(i + 1, policy, defaults);
            _levels[i] = level;
            _lists[level.Ready.Order] = level.Ready;
            _lists[level.Delayed.Order] = level.Delayed;
        }
    }

    /// <summary>
    /// Sets the bound every level whose policy sets no max_queue_size keeps while it sheds load (0: none); the scheduler
    /// derives it from its instances, so it follows the instance count. Requests already queued stay queued.
    /// </summary>
    public void SetSheddingQueueSize(int size)
    {
        foreach (var level in _levels)
        {
            level.SheddingQueueSize = size;
        }
    }

    /// <summary>Demand fits the model's capacity again: no level sheds load any more.</summary>
    public void StopShedding()
    {
        foreach (var level in _levels)
        {
            level.Shedding = false;
        }
    }

    /// <summary>Whether the model configures priority levels; without them a request's priority is ignored, as in Triton.</summary>
    public bool Prioritized { get; }

    public int LevelCount => _levels.Length;

    /// <summary>The level a request of priority 0 goes to.</summary>
    public int DefaultLevel { get; }

    /// <summary>Requests waiting, over every level.</summary>
    public int Count { get; private set; }

    /// <summary>The earliest queue timeout among the ready requests; <see cref="long.MaxValue"/> for none.</summary>
    public long NextDeadline { get; private set; } = long.MaxValue;

    /// <summary>The level a request of <paramref name="priority"/> waits in; false when the model has no such level.</summary>
    public bool TryGetLevel(int priority, out PriorityLevel level)
    {
        if (priority == 0 || !Prioritized)
        {
            level = _levels[DefaultLevel - 1];
            return true;
        }
        if (priority < 1 || priority > _levels.Length)
        {
            level = null!;
            return false;
        }
        level = _levels[priority - 1];
        return true;
    }

    /// <summary>Queues <paramref name="request"/> at the end of its level, with the timeout its level's policy allows.</summary>
    public void Enqueue(QueuedRequest request, long now)
    {
        var level = request.Level;
        request.EnqueuedAt = now;
        request.TimeoutMicroseconds = level.TimeoutMicroseconds(request.Work.TimeoutMicroseconds);
        request.Deadline = request.TimeoutMicroseconds > 0 ? now + Timestamps.FromMicroseconds(request.TimeoutMicroseconds, _frequency) : long.MaxValue;
        request.State = RequestState.Queued;
        level.Ready.AddLast(request);
        Count++;
        if (request.Deadline < NextDeadline)
        {
            NextDeadline = request.Deadline;
        }
    }

    /// <summary>Takes <paramref name="request"/> out wherever it waits (dispatched, cancelled).</summary>
    public void Remove(QueuedRequest request)
    {
        request.List!.Remove(request);
        if (--Count == 0)
        {
            // Otherwise kept until the next expiry pass, which finds the earliest deadline left.
            NextDeadline = long.MaxValue;
        }
    }

    /// <summary>The request that heads the queue: the oldest of the highest priority, ready before delayed.</summary>
    public QueuedRequest? First => FirstFrom(0);

    /// <summary>The request after <paramref name="request"/> in the queue's priority order.</summary>
    public QueuedRequest? After(QueuedRequest request) => request.Next ?? FirstFrom(request.List!.Order + 1);

    private QueuedRequest? FirstFrom(int list)
    {
        for (; list < _lists.Length; list++)
        {
            if (_lists[list].First is { } first)
            {
                return first;
            }
        }
        return null;
    }

    /// <summary>
    /// Applies each level's timeout action to the ready requests whose timeout passed by <paramref name="now"/>:
    /// DELAY moves them behind every request of their level that has not timed out, REJECT takes them out.
    /// Returns the rejected ones chained by <see cref="QueuedRequest.NextExpired"/>, for the caller to fail
    /// outside the lock.
    /// </summary>
    public QueuedRequest? Expire(long now)
    {
        QueuedRequest? rejected = null;
        var nextDeadline = long.MaxValue;
        foreach (var level in _levels)
        {
            var request = level.Ready.First;
            while (request is not null)
            {
                var next = request.Next;
                if (request.Deadline <= now)
                {
                    level.Ready.Remove(request);
                    if (level.TimeoutAction == ModelQueuePolicy.Types.TimeoutAction.Reject)
                    {
                        request.State = RequestState.Finished;
                        Count--;
                        request.NextExpired = rejected;
                        rejected = request;
                    }
                    else
                    {
                        request.Deadline = long.MaxValue;
                        level.Delayed.AddLast(request);
                    }
                }
                else if (request.Deadline < nextDeadline)
                {
                    nextDeadline = request.Deadline;
                }
                request = next;
            }
        }
        NextDeadline = nextDeadline;
        return rejected;
    }
}
