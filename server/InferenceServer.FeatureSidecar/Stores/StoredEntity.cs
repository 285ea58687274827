namespace InferenceServer.FeatureSidecar.Stores;

/// <summary>One entity of the embedded store: its hash fields (UTF-8 text), when it was written and when it expires.</summary>
internal sealed class StoredEntity(long storedAtUnixMilliseconds, long expiresAtUnixMilliseconds, Dictionary<string, byte[]> fields)
{
    /// <summary>Unix milliseconds of the write.</summary>
    public long StoredAt { get; } = storedAtUnixMilliseconds;

    /// <summary>Unix milliseconds from which the entity counts as gone; 0 = never.</summary>
    public long ExpiresAt { get; } = expiresAtUnixMilliseconds;

    public Dictionary<string, byte[]> Fields { get; } = fields;

    public bool IsExpired(long nowUnixMilliseconds) => ExpiresAt != 0 && nowUnixMilliseconds >= ExpiresAt;
}
