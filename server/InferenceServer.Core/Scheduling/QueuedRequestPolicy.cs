using Microsoft.Extensions.ObjectPool;

namespace InferenceServer.Core.Scheduling;

/// <summary>How the scheduler's pool makes and takes back <see cref="QueuedRequest"/>s.</summary>
internal sealed class QueuedRequestPolicy(ModelScheduler owner) : IPooledObjectPolicy<QueuedRequest>
{
    public QueuedRequest Create() => new(owner);

    public bool Return(QueuedRequest request)
    {
        request.Reset();
        return true;
    }
}
