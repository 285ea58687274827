namespace InferenceServer.Core.Models;

/// <summary>
/// A model in the repository and its versions, or the reason the model as a whole could not load
/// (a config that does not parse, no version folders, ...).
/// </summary>
/// <param name="Name">The model's folder name.</param>
/// <param name="Versions">Loaded or failed versions, by number.</param>
/// <param name="Reason">Why the model has no versions at all; empty otherwise.</param>
public sealed record ModelEntry(string Name, IReadOnlyDictionary<long, ModelVersion> Versions, string Reason)
{
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
}
