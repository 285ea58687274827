namespace InferenceServer.Core.Routing.Experiments;

/// <summary>What the route knows of one variant when a report is built: who serves it, its weight, what it answered.</summary>
/// <param name="Name">The variant's name.</param>
/// <param name="Model">The model that serves it.</param>
/// <param name="Version">The version serving it now; null when none is (not loaded) or it is not known.</param>
/// <param name="Weight">Its current weight.</param>
/// <param name="Requests">
/// The requests the weights sent it over the experiment, whatever the weights were then. Forced requests (the variant
/// header, an explicit version) are best left out, here and in <paramref name="WindowRequests"/>.
/// </param>
/// <param name="WindowRequests">
/// The requests <paramref name="Weight"/> sent it, since those weights were set: what the sample-ratio check compares
/// with the weights. The same as <paramref name="Requests"/> while the weights never changed; after a rollout step,
/// only the step's requests, since the earlier ones were routed by other weights.
/// </param>
internal readonly record struct VariantTraffic(string Name, string Model, string? Version, uint Weight, long Requests, long WindowRequests);
