namespace InferenceServer.Core.Residency;

/// <summary>A loaded model as eviction sees it: what its versions hold together, when it was last used, and whether it is pinned.</summary>
/// <param name="Model">The model's name (eviction unloads a model with all its versions, as the repository API's unload does).</param>
/// <param name="Footprint">What its loaded versions hold, summed.</param>
/// <param name="LastUsedMs">When a request last entered one of its versions (or it loaded), in <see cref="Environment.TickCount64"/> milliseconds.</param>
/// <param name="Pinned">Its config sets the <c>pinned</c> parameter: never evicted.</param>
internal sealed record EvictionCandidate(string Model, VersionFootprint Footprint, long LastUsedMs, bool Pinned)
{
    /// <summary>True while a request runs on one of its versions; the server's own growth never evicts such a model (a load may: its requests finish first).</summary>
    public bool InUse { get; init; }
}
