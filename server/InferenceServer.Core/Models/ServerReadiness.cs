namespace InferenceServer.Core.Models;

/// <summary>
/// Whether the server takes inference traffic: the one rule behind REST's <c>/v2/health/ready</c>, gRPC's
/// <c>ServerReady</c> and <c>grpc.health.v1.Health</c>, so a load balancer or Kubernetes probe never routes to a
/// server that cannot serve what it was asked to.
/// </summary>
/// <remarks>
/// Ready means: the startup load is done and the server is not stopping; with <see cref="ModelManagerOptions.StrictReadiness"/>
/// (Triton's <c>--strict-readiness</c>, on by default) also every model it was asked to load has a READY version. The
/// models asked for are those of the startup load (<see cref="ModelManager.StartupModels"/>; a <c>--load-model</c> name in
/// no repository counts as failed) and every model loaded since (poll changes, the repository API). As in Triton, a model
/// that was unloaded on purpose (the repository API, or its folder removed in poll mode) does not count against readiness.
/// </remarks>
public sealed class ServerReadiness
{
    private readonly ModelManager _models;
    private readonly bool _strict;
    private readonly CancellationToken _stopping;

    /// <summary>Creates the rule over <paramref name="models"/>; <paramref name="stopping"/> is cancelled when the server begins to stop.</summary>
    public ServerReadiness(ModelManager models, ModelManagerOptions options, CancellationToken stopping)
    {
        _models = models;
        _strict = options.StrictReadiness;
        _stopping = stopping;
    }

    /// <summary>True when the server takes inference traffic.</summary>
    public bool IsReady
    {
        get
        {
            if (!_models.StartupComplete || _stopping.IsCancellationRequested)
            {
                return false;
            }
            if (!_strict)
            {
                return true;
            }
            var snapshot = _models.Models;
            foreach (var name in _models.StartupModels)
            {
                if (!snapshot.TryGetValue(name, out var entry) || !Serves(entry))
                {
                    return false;
                }
            }
            foreach (var entry in snapshot.Values)
            {
                if (!Serves(entry))
                {
                    return false;
                }
            }
            return true;
        }
    }

    private static bool Serves(ModelEntry entry) => entry.Unloaded || entry.LatestReady() is not null;
}
