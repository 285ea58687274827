namespace InferenceServer.Core.Routing;

/// <summary>
/// The default policy. A model's requests go as in Triton: to the version the request names, else the newest READY
/// version its version policy serves. A declared route's go to the version the request names (of the model it is
/// declared beside, or of its primary variant's model: a bypass of the route for testing by hand), else to the variant
/// its <see cref="TrafficRoute"/> chooses. A model without a route pays one null check for all this.
/// </summary>
internal sealed class TrafficPolicy : IRoutingPolicy
{
    public ModelTarget Choose(ModelRoute route, string? version, in RoutingContext context) =>
        !string.IsNullOrEmpty(version) ? route.NamedVersion(version)
        : route.Traffic is { } traffic ? traffic.Choose(context)
        : route.NewestReady();
}
