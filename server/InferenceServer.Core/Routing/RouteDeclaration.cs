using InferenceServer.Core.Repository;
using InferenceServer.Core.Routing.Config;

namespace InferenceServer.Core.Routing;

/// <summary>
/// A route as the repository declares it: a <c>routing.pbtxt</c> read and checked, with its defaults filled in.
/// Immutable. A file whose declaration reads the same (a comment, spacing, the order of fields or a default written out
/// changed) is <see cref="SameAs"/> the old one, so the route keeps its rollout, experiment and shadow state.
/// </summary>
internal sealed class RouteDeclaration
{
    /// <summary>The file's name in the repository: the route's folder and the file, never a server path.</summary>
    public const string FileName = ModelRepositoryScanner.RouteFileName;

    internal RouteDeclaration(string name, RoutingConfig config, bool besideModel)
    {
        Name = name;
        Config = config;
        BesideModel = besideModel;
    }

    /// <summary>The name clients address: the folder the file is in.</summary>
    public string Name { get; }

    /// <summary>The declaration with its defaults filled in (variant models, header, shares, windows).</summary>
    public RoutingConfig Config { get; }

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

    /// <summary>
    /// True when <paramref name="other"/> declares the same route: the same name and place, and the same declaration
    /// once its defaults are filled in. The text is not compared: an edit that changes nothing a request or a rollout
    /// sees must not restart the route's rollout or forget its experiment.
    /// </summary>
    public bool SameAs(RouteDeclaration? other) =>
        other is not null && other.Name == Name && other.BesideModel == BesideModel && other.Config.Equals(Config);

    /// <summary>What differs from <paramref name="previous"/>, for the log of a route declared anew: its top-level fields by name (<c>variant, rollout</c>).</summary>
    public string ChangesFrom(RouteDeclaration previous)
    {
        var changed = new List<string>();
        if (previous.BesideModel != BesideModel)
        {
            changed.Add(BesideModel ? "now beside a model" : "no longer beside a model");
        }
        foreach (var field in RoutingConfig.Descriptor.Fields.InFieldNumberOrder())
        {
            if (!Equals(field.Accessor.GetValue(previous.Config), field.Accessor.GetValue(Config)))
            {
                changed.Add(field.Name);
            }
        }
        return string.Join(", ", changed);
    }
}
