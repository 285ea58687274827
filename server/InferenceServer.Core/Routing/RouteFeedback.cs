namespace InferenceServer.Core.Routing;

/// <summary>An outcome joined to the variant that answered its request: what the feedback call answers.</summary>
/// <param name="Route">The route's name.</param>
/// <param name="Id">The request's id.</param>
/// <param name="Variant">The variant that answered it.</param>
/// <param name="Model">The model that serves that variant.</param>
public sealed record RouteFeedback(string Route, string Id, string Variant, string Model);
