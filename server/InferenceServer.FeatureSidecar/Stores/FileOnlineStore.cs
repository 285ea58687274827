using System.Text;

namespace InferenceServer.FeatureSidecar.Stores;

/// <summary>
/// The embedded store (<c>file:PATH</c>): every entity in memory, loaded from the file at start and written back
/// atomically by <see cref="FlushAsync"/> (after a materialize). No Redis needed. A serving sidecar only reads it, never
/// writes the file, and reloads it when it changes: a <c>materialize</c> beside it (which renames a new file over the
/// old) is served within <see cref="ReloadInterval"/> or so, with no restart and no connection dropped.
/// </summary>
internal sealed class FileOnlineStore : IOnlineStore
{
    /// <summary>How often a serving store looks at its file's size and write time.</summary>
    /// <remarks>
    /// A look every half second rather than a FileSystemWatcher: it costs one stat, sees a file replaced on any file
    /// system (network and container volumes included, where inotify may miss a rename made elsewhere), has no burst of
    /// events to settle, and runs on the injected clock, so the tests step it without sleeping.
    /// </remarks>
    public static readonly TimeSpan ReloadInterval = TimeSpan.FromMilliseconds(500);

    private readonly TimeProvider _time;
    private readonly IStoreObserver? _observer;
    private readonly ITimer? _watch;
    // Swapped whole by a reload (a lookup reads one dictionary, the old or the new); written in place only by materialize,
    // which never reloads.
    private Dictionary<string, StoredEntity> _entities;
    private FileStamp _loaded;
    private int _checking;

    private FileOnlineStore(StoreAddress address, Dictionary<string, StoredEntity> entities, FileStamp loaded, TimeProvider time, IStoreObserver? observer)
    {
        Address = address;
        _entities = entities;
        _loaded = loaded;
        _time = time;
        _observer = observer;
        if (observer is not null)
        {
            _watch = time.CreateTimer(static state => ((FileOnlineStore)state!).CheckFile(), this, ReloadInterval, ReloadInterval);
        }
    }

    public StoreAddress Address { get; }

    /// <summary>How many entities the store holds (expired ones included until the next write of the file).</summary>
    public int Count => Volatile.Read(ref _entities).Count;

    /// <summary>Opens the store to write it (materialize): loaded once, never reloaded.</summary>
    public static FileOnlineStore Open(StoreAddress address, TimeProvider time) => Open(address, time, null);

    /// <summary>Opens the store to serve it: reloaded whenever its file changes, each reload (or failure) told to <paramref name="observer"/>.</summary>
    public static FileOnlineStore Open(StoreAddress address, TimeProvider time, IStoreObserver? observer)
    {
        var path = address.FilePath!;
        var stamp = FileStamp.Of(path);
        return new FileOnlineStore(address, FileStoreFormat.Load(path), stamp, time, observer);
    }

    public Task<StoreRows> ReadAsync(string[] keys, string[] fields, CancellationToken cancellationToken)
    {
        var entities = Volatile.Read(ref _entities);
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var rows = new StoreRows(keys.Length, fields.Length);
        for (var row = 0; row < keys.Length; row++)
        {
            if (!entities.TryGetValue(keys[row], out var entity) || entity.IsExpired(now))
            {
                continue;
            }
            rows.StoredAt[row] = entity.StoredAt;
            for (var field = 0; field < fields.Length; field++)
            {
                if (entity.Fields.TryGetValue(fields[field], out var value))
                {
                    rows.Values[row * fields.Length + field] = value;
                }
            }
        }
        return Task.FromResult(rows);
    }

    /// <summary>
    /// Loads the file again when its size or write time is not what was loaded. A file that cannot be loaded (damaged,
    /// half copied in place, gone) is reported once and the entities loaded before keep serving; the next change of the
    /// file is tried again.
    /// </summary>
    private void CheckFile()
    {
        // A large file may take longer to load than the interval: the next look waits for this one.
        if (Interlocked.Exchange(ref _checking, 1) == 1)
        {
            return;
        }
        try
        {
            var path = Address.FilePath!;
            var stamp = FileStamp.Of(path);
            if (stamp == _loaded)
            {
                return;
            }
            _loaded = stamp;
            if (stamp == FileStamp.Missing)
            {
                _observer!.ReloadFailed($"the store file {path} is gone", Count);
                return;
            }
            Dictionary<string, StoredEntity> entities;
            try
            {
                entities = FileStoreFormat.Load(path);
            }
            catch (StoreException e)
            {
                _observer!.ReloadFailed(e.Message, Count);
                return;
            }
            Volatile.Write(ref _entities, entities);
            _observer!.Reloaded(entities.Count);
        }
        finally
        {
            Volatile.Write(ref _checking, 0);
        }
    }

    public Task WriteAsync(EntityBatch batch, long storedAtUnixMilliseconds, TimeSpan? ttl, CancellationToken cancellationToken)
    {
        var expiresAt = ttl is { } expiry ? storedAtUnixMilliseconds + (long)expiry.TotalMilliseconds : 0;
        var entities = _entities;
        for (var i = 0; i < batch.Count; i++)
        {
            var key = batch.Key(i);
            var values = batch.Values(i);
            // As in Redis: the row's fields replace the entity's (absent ones removed); fields of other views stay.
            var fields = entities.TryGetValue(key, out var old)
                ? new Dictionary<string, byte[]>(old.Fields, StringComparer.Ordinal)
                : new Dictionary<string, byte[]>(values.Length, StringComparer.Ordinal);
            for (var field = 0; field < values.Length; field++)
            {
                if (values[field] is { } value)
                {
                    fields[batch.Fields[field]] = Encoding.UTF8.GetBytes(value);
                }
                else
                {
                    fields.Remove(batch.Fields[field]);
                }
            }
            entities[key] = new StoredEntity(storedAtUnixMilliseconds, expiresAt, fields);
        }
        return Task.CompletedTask;
    }

    public Task FlushAsync(CancellationToken cancellationToken)
    {
        FileStoreFormat.Save(Address.FilePath!, _entities, _time.GetUtcNow().ToUnixTimeMilliseconds());
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => _watch?.DisposeAsync() ?? ValueTask.CompletedTask;
}
