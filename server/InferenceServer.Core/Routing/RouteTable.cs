using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using InferenceServer.Core.Models;
using InferenceServer.Core.Monitoring;
using Microsoft.Extensions.Logging;

namespace InferenceServer.Core.Routing;

/// <summary>
/// Every routable name, built from one registry snapshot and swapped whole when the registry changes: a request reads
/// the table once and routes within it, so it never sees half of a change. Unloaded models are not in it. A declared
/// route (<see cref="RegistrySnapshot.Routes"/>) is in it under its name, its variants resolved against the same table.
/// </summary>
internal sealed partial class RouteTable
{
    /// <summary>The table before the registry has published anything.</summary>
    public static readonly RouteTable Empty = new(RegistrySnapshot.Empty.Generation, FrozenDictionary<string, ModelRoute>.Empty,
        new Dictionary<string, ModelRoute>(), new Dictionary<string, RouteRuntime>());

    private readonly FrozenDictionary<string, ModelRoute> _routes;
    // The models' own routes (no traffic), kept for the next build to reuse, and the routes' runtimes by name.
    private readonly Dictionary<string, ModelRoute> _models;
    private readonly Dictionary<string, RouteRuntime> _runtimes;

    private RouteTable(long generation, FrozenDictionary<string, ModelRoute> routes, Dictionary<string, ModelRoute> models,
        Dictionary<string, RouteRuntime> runtimes)
    {
        Generation = generation;
        _routes = routes;
        _models = models;
        _runtimes = runtimes;
    }

    /// <summary>The generation of the registry snapshot the table was built from.</summary>
    public long Generation { get; }

    /// <summary>The runtimes of the routes in the table, by route name.</summary>
    public IReadOnlyDictionary<string, RouteRuntime> Runtimes => _runtimes;

    /// <summary>
    /// The table for <paramref name="snapshot"/>. A model whose entry did not change keeps its route (and targets) from
    /// <paramref name="previous"/>; a swap costs only the models it changes. A route keeps its runtime while its
    /// declaration is unchanged; its variants are resolved anew every time, as any model may have changed under them.
    /// </summary>
    /// <remarks>
    /// Which wins when a route and a model have the same name: a route declared beside a model's config.pbtxt is that
    /// model's route (its entry is the model's, with the traffic). A route declared alone yields to a model of the same
    /// name (found in another repository, or loaded before the folder gained its route): the model is served as it
    /// is, and the route is not in the table until the name is free; only a routing.pbtxt beside the model's own
    /// config.pbtxt puts a route in front of a model. A variant names a model, never another route.
    /// </remarks>
    public static RouteTable Build(RegistrySnapshot snapshot, RouteTable previous, RouteServices services)
    {
        var models = new Dictionary<string, ModelRoute>(snapshot.Models.Count, StringComparer.Ordinal);
        foreach (var entry in snapshot.Models.Values)
        {
            if (entry.Unloaded)
            {
                continue;
            }
            models[entry.Name] = previous._models.TryGetValue(entry.Name, out var kept) && ReferenceEquals(kept.Entry, entry) ? kept : new ModelRoute(entry);
        }
        var routes = new Dictionary<string, ModelRoute>(models, StringComparer.Ordinal);
        var runtimes = new Dictionary<string, RouteRuntime>(snapshot.Routes.Count, StringComparer.Ordinal);
        foreach (var declaration in snapshot.Routes.Values)
        {
            ModelEntry entry;
            if (declaration.BesideModel)
            {
                if (!models.TryGetValue(declaration.Name, out var own))
                {
                    // The model it is declared beside is not loaded (nor failed): nothing to put the route in front of.
                    continue;
                }
                entry = own.Entry;
            }
            else if (models.ContainsKey(declaration.Name))
            {
                continue;
            }
            else
            {
                var primary = declaration.Config.Variant[0].Model;
                entry = models.TryGetValue(primary, out var model)
                    ? model.Entry
                    : new ModelEntry(primary, new Dictionary<long, ModelVersion>(), $"the model of its primary variant, '{primary}', is not loaded");
            }
            RouteRuntime runtime;
            if (previous._runtimes.TryGetValue(declaration.Name, out var current) && current.Declaration.SameAs(declaration))
            {
                runtime = current;
            }
            else
            {
                if (current is not null)
                {
                    LogDeclaredAnew(services.Loggers.CreateLogger<RouteTable>(), declaration.Name, declaration.ChangesFrom(current.Declaration), Restarts(current));
                }
                runtime = new RouteRuntime(declaration, services);
            }
            runtimes[declaration.Name] = runtime;
            routes[declaration.Name] = new ModelRoute(entry, runtime, models);
        }
        return new RouteTable(snapshot.Generation, routes.ToFrozenDictionary(StringComparer.Ordinal), models, runtimes);
    }

    // What a route declared anew starts afresh, for its log line; the weights always (the declared ones apply again).
    private static string Restarts(RouteRuntime old)
    {
        var restarts = new List<string>(4) { "weights" };
        if (old.Rollout is { } rollout)
        {
            var status = rollout.Status();
            restarts.Add(string.Create(CultureInfo.InvariantCulture,
                $"rollout (it was at step {status.Step}, the canary at {status.CanaryPercent}% with {status.Canary.Requests} requests in the step)"));
        }
        if (old.Outcomes is not null)
        {
            restarts.Add("experiment outcomes");
        }
        if (old.Shadow is not null)
        {
            restarts.Add("shadow counts");
        }
        return string.Join(", ", restarts);
    }

    /// <summary>Disposes the runtimes of this table that <paramref name="next"/> does not keep: routes gone or declared anew.</summary>
    public void RetireRuntimes(RouteTable next)
    {
        foreach (var (name, runtime) in _runtimes)
        {
            if (!next._runtimes.TryGetValue(name, out var kept) || !ReferenceEquals(kept, runtime))
            {
                runtime.Dispose();
            }
        }
    }

    /// <summary>The route of <paramref name="model"/> (a model's or a declared route's name); false when the name is unknown or unloaded.</summary>
    public bool TryFind(string model, [NotNullWhen(true)] out ModelRoute? route) => _routes.TryGetValue(model, out route);

    [LoggerMessage(Level = LogLevel.Information, Message = "Route '{Route}' is declared anew ({Changes} changed): its {Restarts} start afresh")]
    private static partial void LogDeclaredAnew(ILogger logger, string route, string changes, string restarts);
}
