using InferenceServer.Core.Models;

namespace InferenceServer.Core.Lifecycle;

/// <summary>
/// Whether the server takes inference traffic, and what its startup load failed to load: the one rule behind REST's
/// <c>/v2/health/ready</c>, gRPC's <c>ServerReady</c> and <c>grpc.health.v1.Health</c>, and <c>--exit-on-error</c>, so
/// a load balancer or Kubernetes probe never routes to a server that cannot serve what it was asked to.
/// </summary>
/// <remarks>
/// Ready means: the startup load is done and the server is not stopping; with <see cref="ModelLifecycleOptions.StrictReadiness"/>
/// (Triton's <c>--strict-readiness</c>, on by default) also every model it was asked to load has a READY version, and every
/// route of its own folder it was asked to load is published. The
/// models asked for are those of the startup load (<see cref="ModelLifecycle.StartupModels"/>; a <c>--load-model</c> name
/// in no repository counts as failed) and every model loaded since (poll changes, the repository API). As in Triton, a
/// model that was unloaded on purpose (the repository API, or its folder removed in poll mode) does not count against
/// readiness.
/// </remarks>
internal sealed class ServerReadiness(ModelRegistry registry, ModelLifecycle lifecycle, ModelLifecycleOptions options)
{
    private volatile bool _stopping;

    /// <summary>True when the server takes inference traffic.</summary>
    public bool IsReady
    {
        get
        {
            if (!lifecycle.StartupComplete || _stopping)
            {
                return false;
            }
            if (!options.StrictReadiness)
            {
                return true;
            }
            var snapshot = registry.Snapshot;
            var models = snapshot.Models;
            foreach (var name in lifecycle.StartupModels)
            {
                if (models.TryGetValue(name, out var entry) ? !Serves(entry) : (!snapshot.Routes.ContainsKey(name) && registry.RouteReason(name) != ModelLifecycle.RouteUnloaded))
                {
                    return false;
                }
            }
            foreach (var entry in models.Values)
            {
                if (!Serves(entry))
                {
                    return false;
                }
            }
            return true;
        }
    }

    /// <summary>From now on the server is not ready: it is stopping, and a probe must send traffic elsewhere.</summary>
    public void BeginStopping() => _stopping = true;

    /// <summary>
    /// What went wrong in the startup load, one line per model it was asked for that is in no repository, is in several,
    /// or failed to load as a whole (a bad routing.pbtxt beside it too), per version that failed, and per route of its own
    /// folder that did not load; empty when everything loaded. For <c>--exit-on-error</c>.
    /// </summary>
    public IReadOnlyList<string> StartupFailures()
    {
        var snapshot = registry.Snapshot;
        var models = snapshot.Models;
        var failures = new List<string>();
        foreach (var name in lifecycle.StartupModels)
        {
            if (!models.TryGetValue(name, out var entry))
            {
                if (!snapshot.Routes.ContainsKey(name))
                {
                    var routeFailure = registry.RouteReason(name);
                    failures.Add($"'{name}': {(routeFailure.Length > 0 ? routeFailure : "not found in any model repository")}");
                }
                continue;
            }
            if (entry.Reason.Length > 0)
            {
                failures.Add($"'{name}': {entry.Reason}");
            }
            foreach (var version in entry.Versions.Values.OrderBy(v => v.Version))
            {
                if (version.State != ModelState.Ready)
                {
                    failures.Add($"'{name}' version {version.VersionText}: {version.Reason}");
                }
            }
        }
        return failures;
    }

    // Unloaded on purpose, or has a version to route to.
    private static bool Serves(ModelEntry entry) => entry.Unloaded || entry.LatestReady() is not null;
}
