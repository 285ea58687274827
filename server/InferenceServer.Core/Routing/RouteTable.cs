using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using InferenceServer.Core.Models;

namespace InferenceServer.Core.Routing;

/// <summary>
/// Every routable model by name, built from one registry snapshot and swapped whole when the registry changes: a request
/// reads the table once and routes within it, so it never sees half of a change. Unloaded models are not in it.
/// </summary>
internal sealed class RouteTable
{
    /// <summary>The table before the registry has published anything.</summary>
    public static readonly RouteTable Empty = new(RegistrySnapshot.Empty.Generation, FrozenDictionary<string, ModelRoute>.Empty);

    private readonly FrozenDictionary<string, ModelRoute> _routes;

    private RouteTable(long generation, FrozenDictionary<string, ModelRoute> routes)
    {
        Generation = generation;
        _routes = routes;
    }

    /// <summary>The generation of the registry snapshot the table was built from.</summary>
    public long Generation { get; }

    /// <summary>
    /// The table for <paramref name="snapshot"/>. A model whose entry did not change keeps its route (and targets) from
    /// <paramref name="previous"/>; a swap costs only the models it changes.
    /// </summary>
    public static RouteTable Build(RegistrySnapshot snapshot, RouteTable previous)
    {
        var routes = new Dictionary<string, ModelRoute>(snapshot.Models.Count, StringComparer.Ordinal);
        foreach (var entry in snapshot.Models.Values)
        {
            if (entry.Unloaded)
            {
                continue;
            }
            routes[entry.Name] = previous._routes.TryGetValue(entry.Name, out var kept) && ReferenceEquals(kept.Entry, entry) ? kept : new ModelRoute(entry);
        }
        return new RouteTable(snapshot.Generation, routes.ToFrozenDictionary(StringComparer.Ordinal));
    }

    /// <summary>The route of <paramref name="model"/>; false when the model is unknown or unloaded.</summary>
    public bool TryFind(string model, [NotNullWhen(true)] out ModelRoute? route) => _routes.TryGetValue(model, out route);
}
