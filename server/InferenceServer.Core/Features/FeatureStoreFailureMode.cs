namespace InferenceServer.Core.Features;

/// <summary>What a store failure (down, too slow, overloaded) does to a request of a view.</summary>
public enum FeatureStoreFailureMode
{
    /// <summary>The request is refused as unavailable (503), naming the failure.</summary>
    Unavailable,

    /// <summary>The store-sourced values count as missing, so the features' defaults apply.</summary>
    Defaults,
}
