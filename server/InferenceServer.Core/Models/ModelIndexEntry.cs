namespace InferenceServer.Core.Models;

/// <summary>One row of the repository index.</summary>
/// <param name="Name">Model name.</param>
/// <param name="Version">Version number; empty when the model failed before any version was known.</param>
/// <param name="State">The version's state.</param>
/// <param name="Reason">Why it is not READY; empty when it is.</param>
public sealed record ModelIndexEntry(string Name, string Version, ModelState State, string Reason);
