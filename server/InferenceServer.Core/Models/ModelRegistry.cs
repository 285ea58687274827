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

    /// <summary>The repository index (see <see cref="RegistrySnapshot.Index"/>).</summary>
    public IReadOnlyList<ModelIndexEntry> Index() => _snapshot.Index();

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

    private void Swap(RegistrySnapshot next)
    {
        _snapshot = next;
        foreach (var subscriber in _subscribers)
        {
            subscriber(next);
        }
    }
}
