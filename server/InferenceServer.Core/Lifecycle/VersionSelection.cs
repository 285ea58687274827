namespace InferenceServer.Core.Lifecycle;

/// <summary>
/// Which versions serve after a (re)load. The version policy has already chosen the target versions
/// among the folders on disk, and each target version has been loaded (or kept) or failed. Every
/// target version that is ready serves. When some target version failed, the versions that served
/// before and whose folders are still on disk keep serving as well, so that a bad new version never
/// takes away what was serving: a retired version is one the policy replaced with a version that
/// actually loaded, or whose folder is gone.
/// </summary>
internal static class VersionSelection
{
    /// <summary>The version numbers that serve, ascending.</summary>
    /// <param name="targetReady">Target versions that are ready (freshly loaded or kept).</param>
    /// <param name="targetFailed">Target versions whose load failed.</param>
    /// <param name="currentlyServing">Versions serving before this change.</param>
    /// <param name="onDisk">Version folders that exist now.</param>
    public static IReadOnlyList<long> Serving(IEnumerable<long> targetReady, IEnumerable<long> targetFailed, IEnumerable<long> currentlyServing, IEnumerable<long> onDisk)
    {
        var serving = new SortedSet<long>(targetReady);
        if (targetFailed.Any())
        {
            var present = new HashSet<long>(onDisk);
            foreach (var version in currentlyServing)
            {
                if (present.Contains(version))
                {
                    serving.Add(version);
                }
            }
        }
        return serving.ToArray();
    }
}
