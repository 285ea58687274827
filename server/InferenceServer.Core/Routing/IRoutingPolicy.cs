namespace InferenceServer.Core.Routing;

/// <summary>
/// Chooses which version of a model serves a request. One policy serves the whole server and is injected; it must be
/// thread-safe and must not block, as it runs on every request. Weighted, sticky and shadow policies plug in here.
/// </summary>
internal interface IRoutingPolicy
{
    /// <summary>
    /// The target for a request to <paramref name="route"/>'s model. <paramref name="version"/> is the version the request
    /// names (null or empty: none). Throws NotFound or Unavailable, through the route's lookups, when nothing can serve.
    /// </summary>
    ModelTarget Choose(ModelRoute route, string? version, in RoutingContext context);
}
