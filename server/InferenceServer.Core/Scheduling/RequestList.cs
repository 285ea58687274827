namespace InferenceServer.Core.Scheduling;

/// <summary>
/// An intrusive FIFO of <see cref="QueuedRequest"/>s: the links live in the requests, so enqueueing,
/// removing a cancelled request from the middle and dispatching allocate nothing and cost O(1).
/// Guarded by the scheduler's lock.
/// </summary>
internal sealed class RequestList(int order)
{
    /// <summary>Where the list comes in the queue's walk (priority order, each level's ready list before its delayed one).</summary>
    public int Order { get; } = order;

    public QueuedRequest? First { get; private set; }

    public int Count { get; private set; }

    private QueuedRequest? _last;

    public void AddLast(QueuedRequest request)
    {
        request.List = this;
        request.Previous = _last;
        request.Next = null;
        if (_last is null)
        {
            First = request;
        }
        else
        {
            _last.Next = request;
        }
        _last = request;
        Count++;
    }

    public void Remove(QueuedRequest request)
    {
        if (request.Previous is null)
        {
            First = request.Next;
        }
        else
        {
            request.Previous.Next = request.Next;
        }
        if (request.Next is null)
        {
            _last = request.Previous;
        }
        else
        {
            request.Next.Previous = request.Previous;
        }
        request.Next = null;
        request.Previous = null;
        request.List = null;
        Count--;
    }
}
