namespace InferenceServer.FeatureSidecar.Stores;

/// <summary>Opens the store an address names, to serve it or to write it.</summary>
internal static class OnlineStores
{
    /// <summary>
    /// Opens the store to serve lookups: a Redis that cannot be reached now is not an error (the sidecar starts and keeps
    /// trying), and the file store reloads its file when it changes; <paramref name="observer"/> hears of both.
    /// </summary>
    public static async Task<IOnlineStore> OpenToServeAsync(StoreAddress address, TimeProvider time, IStoreObserver observer) =>
        address.FilePath is not null
            ? FileOnlineStore.Open(address, time, observer)
            : await RedisOnlineStore.ConnectAsync(address, mustConnect: false, observer).ConfigureAwait(false);

    /// <summary>Opens the store to write it (materialize): a Redis that cannot be reached or refuses the credentials is an error now.</summary>
    public static async Task<IOnlineStore> OpenToWriteAsync(StoreAddress address, TimeProvider time) =>
        address.FilePath is not null
            ? FileOnlineStore.Open(address, time)
            : await RedisOnlineStore.ConnectAsync(address, mustConnect: true, observer: null).ConfigureAwait(false);
}
