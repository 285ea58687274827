using InferenceServer.Core.Repository;

namespace InferenceServer.Core.Lifecycle;

/// <summary>A model the poller should act on.</summary>
/// <param name="Name">Model name.</param>
/// <param name="Directory">The folder with only its complete versions; null when the model folder is gone.</param>
/// <param name="Signatures">Each listed version's signature as the tracker saw it complete.</param>
internal sealed record RepositoryChange(string Name, ModelDirectory? Directory, IReadOnlyDictionary<long, string> Signatures);
