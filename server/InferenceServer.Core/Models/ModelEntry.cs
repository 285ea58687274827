namespace InferenceServer.Core.Models;

/// <summary>
/// A model in the repository and its versions, or the reason the model as a whole could not load
/// (a config that does not parse, no version folders, ...). Immutable: a change to the model is a
/// new entry in a new snapshot.
/// </summary>
/// <param name="Name">The model's folder name.</param>
/// <param name="Versions">The versions that serve (READY) and those whose last load failed (UNAVAILABLE), by number.</param>
/// <param name="Reason">Why the model has no versions at all, or why its last reload could not be used; empty otherwise.</param>
internal sealed record ModelEntry(string Name, IReadOnlyDictionary<long, ModelVersion> Versions, string Reason)
{
    private static readonly IReadOnlyDictionary<long, ModelVersion> NoVersions = new Dictionary<long, ModelVersion>();

    /// <summary>
    /// Versions that served before and were retired (UNLOADING while they drain, then UNAVAILABLE
    /// "unloaded"), by number, for the repository index; never used to serve.
    /// </summary>
    public IReadOnlyDictionary<long, ModelVersion> Retired { get; init; } = NoVersions;

    /// <summary>True once the model was unloaded (or its folder removed): requests find no such model, the index still lists it.</summary>
    public bool Unloaded { get; init; }

    /// <summary>The highest-numbered READY version, or null.</summary>
    public ModelVersion? LatestReady()
    {
        ModelVersion? latest = null;
        foreach (var version in Versions.Values)
        {
            if (version.State == ModelState.Ready && (latest is null || version.Version > latest.Version))
            {
                latest = version;
            }
        }
        return latest;
    }

    /// <summary>
    /// What the versions' instances hold, serving ones and retired ones still draining (a retired version reports 0 once
    /// it has released its instances).
    /// </summary>
    public long MemoryBytes()
    {
        long total = 0;
        foreach (var version in Versions.Values)
        {
            total += version.MemoryBytes;
        }
        foreach (var version in Retired.Values)
        {
            total += version.MemoryBytes;
        }
        return total;
    }
}
