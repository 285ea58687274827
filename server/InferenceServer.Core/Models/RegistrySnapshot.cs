using InferenceServer.Core.Features;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Routing;

namespace InferenceServer.Core.Models;

/// <summary>
/// One immutable view of everything the registry holds: the models by name, and what the repositories held when last
/// scanned. A change is a new snapshot; readers keep the one they took, whole, for as long as they use it.
/// </summary>
internal sealed class RegistrySnapshot
{
    private static readonly IReadOnlyDictionary<string, ModelEntry> NoModels = new Dictionary<string, ModelEntry>(StringComparer.Ordinal);
    private static readonly IReadOnlyDictionary<string, RouteDeclaration> NoRoutes = new Dictionary<string, RouteDeclaration>(StringComparer.Ordinal);
    private static readonly IReadOnlyDictionary<string, FeatureView> NoViews = new Dictionary<string, FeatureView>(StringComparer.Ordinal);

    /// <summary>The snapshot before anything is published.</summary>
    public static readonly RegistrySnapshot Empty = new(0, NoModels, RepositoryContents.None, NoRoutes, NoViews);

    private RegistrySnapshot(long generation, IReadOnlyDictionary<string, ModelEntry> models, RepositoryContents repository,
        IReadOnlyDictionary<string, RouteDeclaration> routes, IReadOnlyDictionary<string, FeatureView> views)
    {
        Generation = generation;
        Models = models;
        Repository = repository;
        Routes = routes;
        Views = views;
    }

    /// <summary>Counts the snapshots published before this one: a later snapshot has a higher generation.</summary>
    public long Generation { get; }

    /// <summary>The models by name: loaded, failed and unloaded ones (the index still lists those).</summary>
    public IReadOnlyDictionary<string, ModelEntry> Models { get; }

    /// <summary>What the repositories held when the lifecycle last recorded them.</summary>
    public RepositoryContents Repository { get; }

    /// <summary>The loaded route declarations (<c>routing.pbtxt</c>) by the name clients address.</summary>
    public IReadOnlyDictionary<string, RouteDeclaration> Routes { get; }

    /// <summary>The loaded feature views (<c>features.pbtxt</c>) by the name of the folder that declares them.</summary>
    public IReadOnlyDictionary<string, FeatureView> Views { get; }

    /// <summary>This snapshot with <paramref name="entry"/> added or replacing the model's entry.</summary>
    public RegistrySnapshot With(ModelEntry entry) =>
        new(Generation + 1, new Dictionary<string, ModelEntry>(Models, StringComparer.Ordinal) { [entry.Name] = entry }, Repository, Routes, Views);

    /// <summary>This snapshot with the repositories' contents replaced.</summary>
    public RegistrySnapshot With(RepositoryContents repository) => new(Generation + 1, Models, repository, Routes, Views);

    /// <summary>This snapshot with <paramref name="route"/> added or replacing the route of its name.</summary>
    public RegistrySnapshot With(RouteDeclaration route) =>
        new(Generation + 1, Models, Repository, new Dictionary<string, RouteDeclaration>(Routes, StringComparer.Ordinal) { [route.Name] = route }, Views);

    /// <summary>This snapshot without the route called <paramref name="name"/>.</summary>
    public RegistrySnapshot WithoutRoute(string name)
    {
        var routes = new Dictionary<string, RouteDeclaration>(Routes, StringComparer.Ordinal);
        routes.Remove(name);
        return new(Generation + 1, Models, Repository, routes, Views);
    }

    /// <summary>This snapshot with <paramref name="view"/> added or replacing the view of its name.</summary>
    public RegistrySnapshot With(FeatureView view) =>
        new(Generation + 1, Models, Repository, Routes, new Dictionary<string, FeatureView>(Views, StringComparer.Ordinal) { [view.Name] = view });

    /// <summary>This snapshot without the feature view called <paramref name="name"/>.</summary>
    public RegistrySnapshot WithoutView(string name)
    {
        var views = new Dictionary<string, FeatureView>(Views, StringComparer.Ordinal);
        views.Remove(name);
        return new(Generation + 1, Models, Repository, Routes, views);
    }

    /// <summary>This snapshot without any model, route or view: what serves nothing once the server shuts down.</summary>
    public RegistrySnapshot WithoutModels() => new(Generation + 1, NoModels, Repository, NoRoutes, NoViews);

    /// <summary>
    /// Every model and version with its state and reason, as the repository index reports them: serving and failed
    /// versions, retired ones (UNLOADING, then UNAVAILABLE "unloaded"), the repositories' models that are not loaded
    /// (UNAVAILABLE "not loaded", or the duplicate reason for a name found in two or more repositories), and the
    /// versions in <paramref name="loading"/> (by model) LOADING, unless they serve already (a READY version being
    /// reloaded serves on until the new one replaces it).
    /// </summary>
    /// <remarks>
    /// A route of its own folder (a routing.pbtxt with no model beside it) is one row with version "": READY while it is
    /// published (with the reason its file last failed to reload, if it did), else UNAVAILABLE with the reason from
    /// <paramref name="routeReasons"/> (the reader's message, "unloaded") or "not loaded". A route beside a model adds no
    /// row: the model's rows stand for the folder, and a bad routing.pbtxt fails the model's load, with its reason.
    /// </remarks>
    public IReadOnlyList<ModelIndexEntry> Index(IReadOnlyDictionary<string, long[]>? loading = null, IReadOnlyDictionary<string, string>? routeReasons = null)
    {
        var index = new List<ModelIndexEntry>();
        var names = new SortedSet<string>(Models.Keys, StringComparer.Ordinal);
        names.UnionWith(Repository.Names);
        names.UnionWith(Routes.Keys);
        if (loading is not null)
        {
            names.UnionWith(loading.Keys);
        }
        if (routeReasons is not null)
        {
            names.UnionWith(routeReasons.Keys);
        }
        foreach (var name in names)
        {
            long[]? loadingVersions = null;
            loading?.TryGetValue(name, out loadingVersions);
            var routeReason = routeReasons?.GetValueOrDefault(name) ?? "";
            // A folder that held a model and now holds only a route: the route is what its name serves.
            var routeOnly = Routes.TryGetValue(name, out var route) && !route.BesideModel;
            var rows = new SortedDictionary<long, ModelIndexEntry>();
            if (Models.TryGetValue(name, out var entry) && !(entry.Unloaded && routeOnly))
            {
                foreach (var (number, version) in entry.Retired)
                {
                    rows[number] = new ModelIndexEntry(name, version.VersionText, version.State, version.Reason);
                }
                foreach (var (number, version) in entry.Versions)
                {
                    rows[number] = new ModelIndexEntry(name, version.VersionText, version.State,
                        version.State == ModelState.Ready && version.QuantizationNote.Length > 0 ? version.QuantizationNote : version.Reason)
                    {
                        Precision = version.Precision,
                    };
                }
                if (entry.Reason.Length > 0 && (rows.Count == 0 || !entry.Unloaded) && loadingVersions is null)
                {
                    index.Add(new ModelIndexEntry(entry.Name, "", ModelState.Unavailable, entry.Reason));
                }
            }
            else if (routeOnly)
            {
                index.Add(new ModelIndexEntry(name, "", ModelState.Ready, routeReason));
                continue;
            }
            else if (loadingVersions is null)
            {
                var reason = routeReason.Length > 0 ? routeReason
                    : Repository.Duplicates.Contains(name) ? ModelRepositoryScanner.DuplicateReason : "not loaded";
                index.Add(new ModelIndexEntry(name, "", ModelState.Unavailable, reason));
                continue;
            }
            foreach (var number in loadingVersions ?? [])
            {
                if (!rows.TryGetValue(number, out var row) || row.State != ModelState.Ready)
                {
                    rows[number] = new ModelIndexEntry(name, number.ToString(System.Globalization.CultureInfo.InvariantCulture), ModelState.Loading, "");
                }
            }
            index.AddRange(rows.Values);
        }
        return index;
    }
}
