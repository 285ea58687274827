using System.Text;

namespace InferenceServer.FeatureSidecar.Stores;

/// <summary>
/// The embedded store (<c>file:PATH</c>): every entity in memory, loaded from the file at start and written back
/// atomically by <see cref="FlushAsync"/> (after a materialize). No Redis needed. A serving sidecar only reads it: it
/// never writes the file, so a materialize run beside it is not overwritten; restart the sidecar to serve new data.
/// </summary>
internal sealed class FileOnlineStore : IOnlineStore
{
    private readonly Dictionary<string, StoredEntity> _entities;
    private readonly TimeProvider _time;

    private FileOnlineStore(StoreAddress address, Dictionary<string, StoredEntity> entities, TimeProvider time)
    {
        Address = address;
        _entities = entities;
        _time = time;
    }

    public StoreAddress Address { get; }

    /// <summary>How many entities the store holds (expired ones included until the next write of the file).</summary>
    public int Count => _entities.Count;

    public static FileOnlineStore Open(StoreAddress address, TimeProvider time) => new(address, FileStoreFormat.Load(address.FilePath!), time);

    public Task<StoreRows> ReadAsync(string[] keys, string[] fields, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var rows = new StoreRows(keys.Length, fields.Length);
        for (var row = 0; row < keys.Length; row++)
        {
            if (!_entities.TryGetValue(keys[row], out var entity) || entity.IsExpired(now))
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

    public Task WriteAsync(EntityBatch batch, long storedAtUnixMilliseconds, TimeSpan? ttl, CancellationToken cancellationToken)
    {
        var expiresAt = ttl is { } expiry ? storedAtUnixMilliseconds + (long)expiry.TotalMilliseconds : 0;
        for (var i = 0; i < batch.Count; i++)
        {
            var key = batch.Key(i);
            var values = batch.Values(i);
            // As in Redis: the row's fields replace the entity's (absent ones removed); fields of other views stay.
            var fields = _entities.TryGetValue(key, out var old)
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
            _entities[key] = new StoredEntity(storedAtUnixMilliseconds, expiresAt, fields);
        }
        return Task.CompletedTask;
    }

    public Task FlushAsync(CancellationToken cancellationToken)
    {
        FileStoreFormat.Save(Address.FilePath!, _entities, _time.GetUtcNow().ToUnixTimeMilliseconds());
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
