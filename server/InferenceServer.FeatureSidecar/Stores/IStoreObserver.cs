namespace InferenceServer.FeatureSidecar.Stores;

/// <summary>
/// What a serving store reports as it happens, away from any lookup: Redis connection attempts, and the embedded
/// store's reloads. The serving sidecar logs and counts them; every message names the store with its password hidden.
/// </summary>
internal interface IStoreObserver
{
    /// <summary>A connection to Redis was made (at start, or again after a failure).</summary>
    void Connected();

    /// <summary>A connection attempt failed; called for every attempt, the reconnect loop's included.</summary>
    void ConnectFailed(StoreFailure failure, string message);

    /// <summary>The embedded store's file changed and now serves <paramref name="entities"/> entities.</summary>
    void Reloaded(int entities);

    /// <summary>The embedded store's file changed but could not be loaded; the <paramref name="entitiesKept"/> loaded before still serve.</summary>
    void ReloadFailed(string message, int entitiesKept);
}
