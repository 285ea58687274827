namespace InferenceServer.Core.Scheduling;

/// <summary>
/// preserve_ordering: responses leave in the order the requests arrived. A request whose outcome is
/// known waits here until every request that arrived before it has one.
/// </summary>
internal sealed class ResponseOrder
{
    private readonly Lock _lock = new();
    private QueuedRequest? _first;
    private QueuedRequest? _last;

    /// <summary>Records a request that was admitted to the queue.</summary>
    public void Arrived(QueuedRequest request)
    {
        lock (_lock)
        {
            if (_last is null)
            {
                _first = request;
            }
            else
            {
                _last.NextArrived = request;
            }
            _last = request;
        }
    }

    /// <summary>The request's outcome is known: hands it out, with every later one it was holding up.</summary>
    public void Finished(QueuedRequest request)
    {
        lock (_lock)
        {
            request.Finished = true;
            // Continuations run asynchronously, so signalling under the lock is cheap and keeps the order.
            while (_first is { Finished: true } first)
            {
                _first = first.NextArrived;
                if (_first is null)
                {
                    _last = null;
                }
                first.Signal();
            }
        }
    }
}
