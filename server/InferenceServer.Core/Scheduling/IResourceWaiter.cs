namespace InferenceServer.Core.Scheduling;

/// <summary>
/// Whoever waits for rate-limiter resources on behalf of an instance: the scheduler of its model. Told of a grant
/// outside every lock, so it may take its own.
/// </summary>
internal interface IResourceWaiter
{
    /// <summary><paramref name="lease"/> now holds its resources; the waiter runs a batch with them or releases them.</summary>
    void OnGranted(ResourceLease lease);
}
