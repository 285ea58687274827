using InferenceServer.Core.Models;
using InferenceServer.Core.Monitoring;

namespace InferenceServer.Protocols;

/// <summary>Which versions a statistics request covers, the same for REST and gRPC.</summary>
internal static class ModelStatisticsSelection
{
    /// <summary>
    /// No model: every version that has statistics (every loaded one). A model: its versions that have them. A model
    /// and version: that one version. An unknown model or version, or one that is not ready, throws the same
    /// NOT_FOUND / UNAVAILABLE as the other endpoints.
    /// </summary>
    public static List<ModelStatisticsSnapshot> Select(ModelManager manager, string? model, string? version)
    {
        var snapshots = new List<ModelStatisticsSnapshot>();
        if (string.IsNullOrEmpty(model))
        {
            foreach (var entry in manager.Models.Values.OrderBy(e => e.Name, StringComparer.Ordinal))
            {
                AddVersions(entry, snapshots);
            }
        }
        else if (!string.IsNullOrEmpty(version) || !manager.Models.TryGetValue(model, out var entry))
        {
            snapshots.Add(manager.Resolve(model, version).Statistics!.Snapshot());
        }
        else
        {
            AddVersions(entry, snapshots);
            if (snapshots.Count == 0)
            {
                manager.Resolve(model, null);
            }
        }
        return snapshots;
    }

    private static void AddVersions(ModelEntry entry, List<ModelStatisticsSnapshot> snapshots)
    {
        foreach (var candidate in entry.Versions.Values.OrderBy(v => v.Version))
        {
            if (candidate.Statistics is not null)
            {
                snapshots.Add(candidate.Statistics.Snapshot());
            }
        }
    }
}
