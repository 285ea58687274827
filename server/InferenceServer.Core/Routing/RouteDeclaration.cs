using InferenceServer.Core.Repository;
using InferenceServer.Core.Routing.Config;

namespace InferenceServer.Core.Routing;

/// <summary>
/// A route as the repository declares it: a <c>routing.pbtxt</c> read and checked, with its defaults filled in.
/// Immutable; a changed file is a new declaration, an unchanged one (the same text) is <see cref="SameAs"/> the old.
/// </summary>
internal sealed class RouteDeclaration
{
    /// <summary>The file's name in the repository: the route's folder and the file, never a server path.</summary>
    public const string FileName = ModelRepositoryScanner.RouteFileName;

    internal RouteDeclaration(string name, RoutingConfig config, string text, bool besideModel)
    {
        Name = name;
        Config = config;
        Text = text;
        BesideModel = besideModel;
    }

    /// <summary>The name clients address: the folder the file is in.</summary>
    public string Name { get; }

    /// <summary>The declaration with its defaults filled in (variant models, header, shares, windows).</summary>
    public RoutingConfig Config { get; }

    /// <summary>The file's text, to tell a changed declaration from an unchanged one.</summary>
    public string Text { get; }

    /// <summary>True when the file sits beside a model's config.pbtxt: its variants are that model's versions by default.</summary>
    public bool BesideModel { get; }

    /// <summary>How messages name the file: <c>route/routing.pbtxt</c>.</summary>
    public string DisplayName => $"{Name}/{FileName}";

    /// <summary>The index of the variant called <paramref name="variant"/>; -1 when the route has none of that name.</summary>
    public int VariantIndex(string variant)
    {
        var variants = Config.Variant;
        for (var i = 0; i < variants.Count; i++)
        {
            if (string.Equals(variants[i].Name, variant, StringComparison.Ordinal))
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>True when <paramref name="other"/> was read from the same text for the same route.</summary>
    public bool SameAs(RouteDeclaration? other) =>
        other is not null && other.Name == Name && other.BesideModel == BesideModel && string.Equals(other.Text, Text, StringComparison.Ordinal);
}
