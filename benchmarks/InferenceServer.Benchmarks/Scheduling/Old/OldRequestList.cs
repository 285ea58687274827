using InferenceServer.Core.Backends;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Scheduling;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Benchmarks.Scheduling.Old;

/// <summary>
/// An intrusive FIFO of <see cref="OldQueuedRequest"/>s: the links live in the requests, so enqueueing,
/// removing a cancelled request from the middle and dispatching allocate nothing and cost O(1).
/// Guarded by the scheduler's queue lock.
/// </summary>
internal sealed class OldRequestList
{
    public OldQueuedRequest? First { get; private set; }

    public int Count { get; private set; }

    private OldQueuedRequest? _last;

    public void AddLast(OldQueuedRequest request)
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

    public void Remove(OldQueuedRequest request)
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
