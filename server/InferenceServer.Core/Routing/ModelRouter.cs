using InferenceServer.Core.Inference;
using InferenceServer.Core.Models;
using InferenceServer.Core.Monitoring;

namespace InferenceServer.Core.Routing;

/// <summary>
/// Resolves requests to model versions through the current <see cref="RouteTable"/>, which it rebuilds from every
/// registry snapshot: a stable object in front of an immutable table that is swapped whole.
/// </summary>
internal sealed class ModelRouter
{
    private readonly IRoutingPolicy _policy;
    private volatile RouteTable _table = RouteTable.Empty;

    public ModelRouter(ModelRegistry registry, IRoutingPolicy policy, RouteServices services)
    {
        _policy = policy;
        // Called under the registry's lock, in publish order: the table never goes back to an older snapshot. A route's
        // runtime is retired once the table that no longer has it is in place; requests routed before finish through it.
        registry.Subscribe(snapshot =>
        {
            var previous = _table;
            _table = RouteTable.Build(snapshot, previous, services);
            previous.RetireRuntimes(_table);
        });
    }

    /// <summary>The current table.</summary>
    public RouteTable Table => _table;

    /// <summary>The route of <paramref name="model"/> (a model or a declared route) in the current table; NotFound for an unknown or unloaded model.</summary>
    public ModelRoute Find(string model) =>
        _table.TryFind(model, out var route) ? route : throw new InferenceException(InferenceErrorKind.NotFound, $"unknown model '{model}'");

    /// <summary>Routes a request that names <paramref name="model"/> and maybe <paramref name="version"/>.</summary>
    public ModelTarget Resolve(string model, string? version, in RoutingContext context) => _policy.Choose(Find(model), version, context);

    /// <summary>Routes a request within a route already found (the same table), so a request is routed against one table.</summary>
    public ModelTarget Resolve(ModelRoute route, string? version, in RoutingContext context) => _policy.Choose(route, version, context);

    /// <summary>
    /// The version whose metadata and config describe <paramref name="route"/>: a declared route's primary variant
    /// (unless a version is named), whatever variant a request would go to; a model's as the policy routes it.
    /// </summary>
    public ModelTarget Describe(ModelRoute route, string? version, in RoutingContext context) =>
        route.Traffic is { } traffic && string.IsNullOrEmpty(version) ? traffic.Describe() : _policy.Choose(route, version, context);
}
