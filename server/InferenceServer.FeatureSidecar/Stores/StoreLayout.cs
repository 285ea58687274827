namespace InferenceServer.FeatureSidecar.Stores;

/// <summary>
/// The layout every online store shares: one hash per entity at the view's key pattern, one field per raw feature
/// (its invariant text), plus <see cref="StoredAtField"/>, the unix milliseconds of the write.
/// </summary>
internal static class StoreLayout
{
    /// <summary>The hash field that holds when the entity was written (unix milliseconds, invariant text).</summary>
    public const string StoredAtField = "_stored_at";

    /// <summary>
    /// The stored-at a lookup reports for an entity whose hash has values but no readable <see cref="StoredAtField"/>
    /// (written by something other than materialize): the epoch's first millisecond, so that any TTL counts its values
    /// as expired while a view without a TTL still uses them. 0 would say "not found".
    /// </summary>
    public const long UnknownStoredAt = 1;
}
