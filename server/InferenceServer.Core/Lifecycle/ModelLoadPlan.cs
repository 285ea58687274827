using InferenceServer.Core.Backends;
using InferenceServer.Core.Features;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Routing;

namespace InferenceServer.Core.Lifecycle;

/// <summary>
/// What loading a model folder will do, decided before anything loads: its config, backend and
/// the versions the policy selects, or why it cannot load at all.
/// </summary>
/// <param name="Directory">The model folder.</param>
/// <param name="Config">The config as read (not yet completed from the model file); null when it could not be read.</param>
/// <param name="Backend">The backend that will run it; null when none fits.</param>
/// <param name="Versions">The version numbers to load.</param>
/// <param name="FailureReason">Why the model cannot load; empty when it can.</param>
internal sealed record ModelLoadPlan(ModelDirectory Directory, ModelConfig? Config, IModelBackend? Backend, IReadOnlyList<long> Versions, string FailureReason)
{
    /// <summary>Fields of the config as written that the schema does not have: a failure to load a version names them.</summary>
    public IReadOnlyList<ModelConfigWarning> UnknownFields { get; init; } = [];

    /// <summary>
    /// True when the folder's routing.pbtxt and features.pbtxt were read for this load (not for uploaded files): once the
    /// model applies, <see cref="Route"/> and <see cref="View"/> are published, or those of the model's name taken out
    /// when they are null. A plan that fails leaves the published route and view as they are, as it leaves the serving
    /// versions.
    /// </summary>
    public bool RouteRead { get; init; }

    /// <summary>The route declared beside the model; null when the folder has none.</summary>
    public RouteDeclaration? Route { get; init; }

    /// <summary>The feature view declared beside the model, checked against its config; null when the folder has none.</summary>
    public FeatureView? View { get; init; }

    /// <summary>A plan that loads nothing, for the reason given.</summary>
    public static ModelLoadPlan Failed(ModelDirectory directory, string reason) => new(directory, null, null, [], reason);

    /// <summary>How many CPU instances (sessions) the plan creates across its versions: they share the machine's cores.</summary>
    public int CpuInstanceCount
    {
        get
        {
            if (Config is null)
            {
                return 0;
            }
            var perVersion = 0;
            foreach (var group in Config.EffectiveInstanceGroups())
            {
                if (group.Kind != ModelInstanceGroup.Types.Kind.Gpu)
                {
                    perVersion += group.Count;
                }
            }
            return perVersion * Versions.Count;
        }
    }
}
