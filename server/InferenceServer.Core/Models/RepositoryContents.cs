namespace InferenceServer.Core.Models;

/// <summary>
/// What the model repositories held when the lifecycle last scanned them, kept in the registry so the repository index
/// can list models that are not loaded without reading the disk itself.
/// </summary>
/// <param name="Names">Every model folder name found (hidden folders left out).</param>
/// <param name="Duplicates">The names found in two or more repositories, which are not loaded from any of them.</param>
internal sealed record RepositoryContents(IReadOnlySet<string> Names, IReadOnlySet<string> Duplicates)
{
    /// <summary>Nothing recorded: the index lists only what the registry holds.</summary>
    public static readonly RepositoryContents None = new(new HashSet<string>(), new HashSet<string>());

    /// <summary>True when <paramref name="other"/> lists the same names and duplicates.</summary>
    public bool SameAs(RepositoryContents other) => Names.SetEquals(other.Names) && Duplicates.SetEquals(other.Duplicates);
}
