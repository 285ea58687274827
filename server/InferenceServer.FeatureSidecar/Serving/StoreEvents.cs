using InferenceServer.FeatureSidecar.Stores;
using Microsoft.Extensions.Logging;

namespace InferenceServer.FeatureSidecar.Serving;

/// <summary>
/// What the serving store reports, logged and counted. Every failed connection attempt is counted, but only the first
/// of a kind is logged until the kind changes or a connection succeeds: the reconnect loop tries about every second.
/// </summary>
internal sealed class StoreEvents(StoreAddress store, SidecarMetrics metrics, ILogger logger) : IStoreObserver
{
    private readonly Lock _lock = new();
    private StoreFailure? _logged;

    public void Connected()
    {
        lock (_lock)
        {
            _logged = null;
        }
        SidecarLog.StoreConnected(logger, store.Text);
    }

    public void ConnectFailed(StoreFailure failure, string message)
    {
        metrics.ConnectFailed(failure);
        lock (_lock)
        {
            if (_logged == failure)
            {
                return;
            }
            _logged = failure;
        }
        SidecarLog.StoreConnectFailed(logger, message);
    }

    public void Reloaded(int entities)
    {
        metrics.Reloaded(ok: true);
        SidecarLog.StoreReloaded(logger, store.FilePath ?? store.Text, entities);
    }

    public void ReloadFailed(string message, int entitiesKept)
    {
        metrics.Reloaded(ok: false);
        SidecarLog.StoreReloadFailed(logger, message, entitiesKept);
    }
}
