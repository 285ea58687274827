using InferenceServer.Core.Models;
using InferenceServer.Core.Repository;

namespace InferenceServer.Core.Routing;

/// <summary>
/// The model version a request was routed to, as callers of the front door see it: its name, version and config (to
/// decode inputs and describe the model), and the route it came from. Immutable; taken from one route table, so
/// everything it reports belongs to the same moment.
/// </summary>
public sealed class ModelTarget
{
    internal ModelTarget(ModelRoute route, ModelVersion serving, RouteVariant? variant = null)
    {
        Route = route;
        Serving = serving;
        Variant = variant;
    }

    /// <summary>The route the request addressed: its name and READY versions when this target was chosen.</summary>
    public ModelRoute Route { get; }

    /// <summary>The name the request addressed: the model's, or the route's (the version's own model answers in the response).</summary>
    public string Name => Route.Name;

    /// <summary>The version number as the protocols spell it.</summary>
    public string Version => Serving.VersionText;

    /// <summary>The completed config the version serves with (instance counts follow in-place resizes).</summary>
    public ModelConfig Config => Serving.Config!;

    /// <summary>The precision the version serves when its config asked for a quantized variant; empty otherwise.</summary>
    public string Precision => Serving.Precision;

    /// <summary>The loaded version behind the target.</summary>
    internal ModelVersion Serving { get; }

    /// <summary>The route's variant the target serves; null for a request to a model (or to a named version of a route's model).</summary>
    internal RouteVariant? Variant { get; }
}
