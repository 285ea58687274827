namespace InferenceServer.FeatureSidecar.Stores;

/// <summary>Opens the store an address names.</summary>
internal static class OnlineStores
{
    /// <summary>
    /// Opens the store at <paramref name="address"/>; with <paramref name="mustConnect"/> a Redis that cannot be reached
    /// now is an error (materialize), without it the sidecar starts and keeps trying (serve).
    /// </summary>
    public static async Task<IOnlineStore> OpenAsync(StoreAddress address, bool mustConnect, TimeProvider time) =>
        address.FilePath is not null
            ? FileOnlineStore.Open(address, time)
            : await RedisOnlineStore.ConnectAsync(address, mustConnect, TextWriter.Null).ConfigureAwait(false);
}
