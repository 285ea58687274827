namespace InferenceServer.Core.Routing.Experiments;

/// <summary>What the route knows of one variant when a report is built: who serves it, its weight, what it answered.</summary>
/// <param name="Name">The variant's name.</param>
/// <param name="Model">The model that serves it.</param>
/// <param name="Version">The version serving it now; null when none is (not loaded) or it is not known.</param>
/// <param name="Weight">Its current weight.</param>
/// <param name="Requests">
/// The requests the weights sent it. Forced requests (the variant header, an explicit version) are best left out: the
/// sample-ratio check compares these counts with the weights.
/// </param>
internal readonly record struct VariantTraffic(string Name, string Model, string? Version, uint Weight, long Requests);
