using InferenceServer.Core.Features;
using InferenceServer.Core.Routing;

namespace InferenceServer.Core.Models;

/// <summary>
/// The models the server holds, as one immutable <see cref="RegistrySnapshot"/> read without locks and replaced whole
/// on every change, so no reader ever sees a half-changed model. Only the lifecycle publishes; the routing layer derives
/// its route table from each snapshot.
/// </summary>
internal sealed class ModelRegistry
{
    private readonly Lock _lock = new();
    private readonly List<Action<RegistrySnapshot>> _subscribers = [];
    private volatile RegistrySnapshot _snapshot = RegistrySnapshot.Empty;
    // The versions loads are working on, by model: only the index reads them, so they are kept beside the snapshots
    // rather than in them (a LOADING row changes nothing that routes).
    private readonly Dictionary<string, long[]> _loading = new(StringComparer.Ordinal);
    // Why a route of its own folder (no model beside it) does not serve as its file now reads, by name: the reader's
    // message, or "unloaded". Only the index, readiness and startup report read them, so they live beside the snapshots
    // too, and recording one never rebuilds the route table.
    private readonly Dictionary<string, string> _routeReasons = new(StringComparer.Ordinal);

    /// <summary>The current snapshot.</summary>
    public RegistrySnapshot Snapshot => _snapshot;

    /// <summary>
    /// Calls <paramref name="published"/> with the current snapshot now and with every later one, in publish order and
    /// before the next publish: a view derived from the snapshots (the route table) therefore never goes backwards.
    /// </summary>
    public void Subscribe(Action<RegistrySnapshot> published)
    {
        lock (_lock)
        {
            published(_snapshot);
            _subscribers.Add(published);
        }
    }

    /// <summary>Swaps in a snapshot with <paramref name="entry"/>; readers see the old snapshot or the new one, whole.</summary>
    public void Publish(ModelEntry entry)
    {
        lock (_lock)
        {
            Swap(_snapshot.With(entry));
        }
    }

    /// <summary>Publishes <paramref name="entry"/> only when the registry holds no entry of its model (a first load that failed before publishing).</summary>
    public void PublishIfAbsent(ModelEntry entry)
    {
        lock (_lock)
        {
            if (!_snapshot.Models.ContainsKey(entry.Name))
            {
                Swap(_snapshot.With(entry));
            }
        }
    }

    /// <summary>
    /// Swaps in <paramref name="route"/>, or takes the route called <paramref name="name"/> out when it is null; nothing
    /// is swapped when the declaration is the one already published (<see cref="RouteDeclaration.SameAs"/>), so a route's runtime state
    /// (rollout, experiment, shadow queue) lives on across reloads that change nothing.
    /// </summary>
    public void PublishRoute(string name, RouteDeclaration? route)
    {
        lock (_lock)
        {
            _snapshot.Routes.TryGetValue(name, out var current);
            if (route is null ? current is not null : !route.SameAs(current))
            {
                Swap(route is null ? _snapshot.WithoutRoute(name) : _snapshot.With(route));
            }
        }
    }

    /// <summary>
    /// Swaps in <paramref name="view"/>, or takes the feature view called <paramref name="name"/> out when it is null;
    /// nothing is swapped when the declaration is the one already published (the same text).
    /// </summary>
    public void PublishView(string name, FeatureView? view)
    {
        lock (_lock)
        {
            _snapshot.Views.TryGetValue(name, out var current);
            if (view is null ? current is not null : !view.SameAs(current))
            {
                Swap(view is null ? _snapshot.WithoutView(name) : _snapshot.With(view));
            }
        }
    }

    /// <summary>
    /// Records why the route called <paramref name="name"/> (a folder holding only a routing.pbtxt) is not published, or
    /// why its file did not replace the route that is; an empty <paramref name="reason"/> forgets it (the file applied).
    /// </summary>
    public void RecordRouteReason(string name, string reason)
    {
        lock (_lock)
        {
            if (reason.Length == 0)
            {
                _routeReasons.Remove(name);
            }
            else
            {
                _routeReasons[name] = reason;
            }
        }
    }

    /// <summary>What <see cref="RecordRouteReason"/> last recorded for <paramref name="name"/>; empty when nothing.</summary>
    public string RouteReason(string name)
    {
        lock (_lock)
        {
            return _routeReasons.GetValueOrDefault(name, "");
        }
    }

    /// <summary>Records what the repositories hold, for the index; nothing is swapped when that has not changed.</summary>
    public void Record(RepositoryContents repository)
    {
        lock (_lock)
        {
            if (!_snapshot.Repository.SameAs(repository))
            {
                Swap(_snapshot.With(repository));
            }
        }
    }

    /// <summary>Takes every model out of the registry (shutting down); returns the versions that served, to be retired.</summary>
    public IReadOnlyList<ModelVersion> Clear()
    {
        var versions = new List<ModelVersion>();
        lock (_lock)
        {
            foreach (var entry in _snapshot.Models.Values)
            {
                versions.AddRange(entry.Versions.Values);
            }
            Swap(_snapshot.WithoutModels());
        }
        return versions;
    }

    /// <summary>
    /// Shows <paramref name="versions"/> of <paramref name="model"/> as LOADING in the index (those not READY) until the
    /// result is disposed. The caller holds the model's lock, so one load at a time marks a model.
    /// </summary>
    public IDisposable BeginLoading(string model, IReadOnlyList<long> versions)
    {
        lock (_lock)
        {
            _loading[model] = [.. versions];
        }
        return new LoadingMark(this, model);
    }

    /// <summary>
    /// The repository index (see <see cref="RegistrySnapshot.Index"/>), with the versions being loaded LOADING and the
    /// reasons recorded for routes.
    /// </summary>
    public IReadOnlyList<ModelIndexEntry> Index()
    {
        Dictionary<string, long[]> loading;
        Dictionary<string, string> routeReasons;
        RegistrySnapshot snapshot;
        lock (_lock)
        {
            loading = new Dictionary<string, long[]>(_loading, StringComparer.Ordinal);
            routeReasons = new Dictionary<string, string>(_routeReasons, StringComparer.Ordinal);
            snapshot = _snapshot;
        }
        return snapshot.Index(loading, routeReasons);
    }

    /// <summary>True while a load of <paramref name="model"/> runs or waits (<see cref="BeginLoading"/>): eviction leaves it alone.</summary>
    public bool IsLoading(string model)
    {
        lock (_lock)
        {
            return _loading.ContainsKey(model);
        }
    }

    /// <summary>What every model's instances hold (see <see cref="ModelEntry.MemoryBytes"/>), summed.</summary>
    public long MemoryBytes()
    {
        long total = 0;
        foreach (var entry in _snapshot.Models.Values)
        {
            total += entry.MemoryBytes();
        }
        return total;
    }

    /// <summary>What one model's instances hold; 0 for a model the registry does not hold.</summary>
    public long MemoryBytes(string model) => _snapshot.Models.TryGetValue(model, out var entry) ? entry.MemoryBytes() : 0;

    private sealed class LoadingMark(ModelRegistry registry, string model) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                lock (registry._lock)
                {
                    registry._loading.Remove(model);
                }
            }
        }
    }

    private void Swap(RegistrySnapshot next)
    {
        _snapshot = next;
        foreach (var subscriber in _subscribers)
        {
            subscriber(next);
        }
    }
}
