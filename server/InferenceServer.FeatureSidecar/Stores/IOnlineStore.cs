namespace InferenceServer.FeatureSidecar.Stores;

/// <summary>An online store in the shared layout (<see cref="StoreLayout"/>): Redis or the embedded file store.</summary>
internal interface IOnlineStore : IAsyncDisposable
{
    /// <summary>The store's address, for messages.</summary>
    StoreAddress Address { get; }

    /// <summary>
    /// Reads <paramref name="fields"/> of every key. Every read is issued before the first await, so the lookups a
    /// connection's buffer held go to the store together; cancelled when the lookup's deadline passes.
    /// </summary>
    Task<StoreRows> ReadAsync(string[] keys, string[] fields, CancellationToken cancellationToken);

    /// <summary>
    /// Writes a batch of entities, stamped <paramref name="storedAtUnixMilliseconds"/>; each expires after
    /// <paramref name="ttl"/> when given.
    /// </summary>
    Task WriteAsync(EntityBatch batch, long storedAtUnixMilliseconds, TimeSpan? ttl, CancellationToken cancellationToken);

    /// <summary>Makes every write so far durable (the file store persists its file; Redis has nothing to do).</summary>
    Task FlushAsync(CancellationToken cancellationToken);
}
