namespace InferenceServer.Core.Features;

/// <summary>The online store a view reads by entity key: where an entity's hash lives and how long a lookup may take.</summary>
public sealed class FeatureStore
{
    internal FeatureStore(string keyPattern, TimeSpan ttl, TimeSpan timeout, FeatureStoreFailureMode onFailure)
    {
        KeyPattern = keyPattern;
        Ttl = ttl;
        Timeout = timeout;
        OnFailure = onFailure;
    }

    /// <summary>The key pattern as declared, e.g. <c>income:{id}</c>; <see cref="FeatureView.StoreKey"/> fills it in.</summary>
    public string KeyPattern { get; }

    /// <summary>How old a stored value may be before it counts as missing; <see cref="TimeSpan.Zero"/>: never too old.</summary>
    public TimeSpan Ttl { get; }

    /// <summary>How long a lookup may take before it counts as a store failure.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>What a store failure does to a request.</summary>
    public FeatureStoreFailureMode OnFailure { get; }
}
