using InferenceServer.Core.Repository;

namespace InferenceServer.Core.Lifecycle;

/// <summary>A model folder the poller should act on.</summary>
/// <param name="Name">Model (or route) name.</param>
/// <param name="Directory">The folder with only its complete versions; null when the model folder is gone.</param>
/// <param name="Signatures">Each listed version's signature as the tracker saw it complete.</param>
/// <param name="ModelChanged">
/// False when only the folder's routing.pbtxt or features.pbtxt changed since the last change handed over: the route and
/// the view are read again, and the model's versions are left as they serve.
/// </param>
internal sealed record RepositoryChange(string Name, ModelDirectory? Directory, IReadOnlyDictionary<long, string> Signatures, bool ModelChanged = true)
{
    /// <summary>
    /// This change in place of <paramref name="pending"/>, which was not applied yet: the newer view wins, but a model
    /// change (or removal) the pending one carried is not lost to a later change of the route alone.
    /// </summary>
    public RepositoryChange Replacing(RepositoryChange pending) => pending.ModelChanged && !ModelChanged ? this with { ModelChanged = true } : this;
}
