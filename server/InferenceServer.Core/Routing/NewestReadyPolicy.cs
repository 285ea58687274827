namespace InferenceServer.Core.Routing;

/// <summary>The version the request names, else the newest READY version the model's version policy serves (Triton's rule).</summary>
internal sealed class NewestReadyPolicy : IRoutingPolicy
{
    public ModelTarget Choose(ModelRoute route, string? version, in RoutingContext context) =>
        string.IsNullOrEmpty(version) ? route.NewestReady() : route.NamedVersion(version);
}
