using System.Buffers.Text;
using StackExchange.Redis;

namespace InferenceServer.FeatureSidecar.Stores;

/// <summary>
/// Redis through one StackExchange.Redis multiplexer: a lookup is one HMGET per key, all issued before any is awaited
/// (the multiplexer pipelines them on its one connection). Commands fail at once while Redis is unreachable instead of
/// queueing for its return, so the sidecar's breaker sees the failure and answers "unavailable" in microseconds.
/// </summary>
internal sealed class RedisOnlineStore : IOnlineStore
{
    private readonly ConnectionMultiplexer _redis;
    private readonly IDatabase _database;

    private RedisOnlineStore(StoreAddress address, ConnectionMultiplexer redis)
    {
        Address = address;
        _redis = redis;
        // The address's /DB, through the options' default database.
        _database = redis.GetDatabase();
    }

    public StoreAddress Address { get; }

    /// <summary>
    /// Connects to the Redis at <paramref name="address"/>, with its user, password, database and TLS. With
    /// <paramref name="mustConnect"/> false (serve) a Redis that is not up yet is not an error: the multiplexer keeps
    /// reconnecting, lookups answer "unavailable" until it does, and every failed attempt goes to
    /// <paramref name="observer"/>. Materialize needs Redis now, so it fails at once with what failed: the connection,
    /// the credentials or the TLS handshake (<see cref="StoreException"/>).
    /// </summary>
    public static async Task<RedisOnlineStore> ConnectAsync(StoreAddress address, bool mustConnect, IStoreObserver? observer)
    {
        var options = RedisOptions.Create(address);
        options.AbortOnConnectFail = mustConnect;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.ConnectTimeout = 2000;
        // Reconnect soon after a restarted Redis is back, not after an exponential wait.
        options.ReconnectRetryPolicy = new LinearRetry(250);
        options.ClientName = "feature-sidecar";

        var gate = new Lock();
        (StoreFailure Failure, string Message)? lastFailure = null;
        var failed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        options.ConnectionAttemptCompleted += (_, attempt) =>
        {
            // The subscription connection's attempts repeat the interactive one's, and an attempt the multiplexer
            // abandons itself (to retry it after a failure) is not one more failure of Redis.
            if (attempt.ConnectionType != ConnectionType.Interactive || attempt.FailureType == ConnectionFailureType.ConnectionDisposed)
            {
                return;
            }
            if (attempt.IsSuccess)
            {
                observer?.Connected();
                return;
            }
            var described = RedisOptions.Describe(address, attempt);
            lock (gate)
            {
                lastFailure = described;
            }
            failed.TrySetResult();
            observer?.ConnectFailed(described.Failure, described.Message);
        };
        try
        {
            return new RedisOnlineStore(address, await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false));
        }
        catch (RedisConnectionException e)
        {
            // Attempts are reported on a worker thread, which may lag the exception by a moment.
            await Task.WhenAny(failed.Task, Task.Delay(TimeSpan.FromSeconds(1))).ConfigureAwait(false);
            string? message;
            lock (gate)
            {
                message = lastFailure?.Message;
            }
            throw new StoreException(message ?? $"cannot connect to the Redis at {address}: {RedisOptions.Detail(address, e)}", e);
        }
    }

    public async Task<StoreRows> ReadAsync(string[] keys, string[] fields, CancellationToken cancellationToken)
    {
        var hashFields = new RedisValue[fields.Length + 1];
        for (var i = 0; i < fields.Length; i++)
        {
            hashFields[i] = fields[i];
        }
        hashFields[fields.Length] = StoreLayout.StoredAtField;
        var reads = new Task<RedisValue[]>[keys.Length];
        for (var i = 0; i < keys.Length; i++)
        {
            reads[i] = _database.HashGetAsync(keys[i], hashFields);
        }
        await AllAsync(reads, cancellationToken).ConfigureAwait(false);

        var rows = new StoreRows(keys.Length, fields.Length);
        for (var row = 0; row < keys.Length; row++)
        {
            var values = reads[row].Result;
            var found = false;
            for (var field = 0; field < fields.Length; field++)
            {
                if (!values[field].IsNull)
                {
                    rows.Values[row * fields.Length + field] = (ReadOnlyMemory<byte>)values[field];
                    found = true;
                }
            }
            var storedAt = values[fields.Length];
            rows.StoredAt[row] = !storedAt.IsNull && Utf8Parser.TryParse(((ReadOnlyMemory<byte>)storedAt).Span, out long at, out var used)
                && used == ((ReadOnlyMemory<byte>)storedAt).Length && at > 0
                ? at
                : found ? StoreLayout.UnknownStoredAt : 0;
        }
        return rows;
    }

    // Waits for the reads from the last one issued back. The multiplexer's tasks run their continuations
    // asynchronously, so Task.WhenAll, which waits on each of them, queued a thread-pool work item for every key; the
    // replies of one connection come in order, so by the time the last read's continuation runs the others are nearly
    // always complete, and a frame's keys cost one work item. (At c=32 on a loaded machine the sidecar's wake-ups
    // measured the same either way: its pool threads were awake already.)
    private static async Task AllAsync(Task<RedisValue[]>[] reads, CancellationToken cancellationToken)
    {
        try
        {
            for (var i = reads.Length - 1; i >= 0; i--)
            {
                await reads[i].WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            // The reads not awaited yet are observed still, as Task.WhenAll would have: their failures are the same.
            _ = Task.WhenAll(reads).ContinueWith(static all => _ = all.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw;
        }
    }

    public async Task WriteAsync(EntityBatch batch, long storedAtUnixMilliseconds, TimeSpan? ttl, CancellationToken cancellationToken)
    {
        var writes = new List<Task>(batch.Count * 3);
        var storedAt = new HashEntry(StoreLayout.StoredAtField, storedAtUnixMilliseconds);
        var absent = new List<RedisValue>();
        for (var i = 0; i < batch.Count; i++)
        {
            var key = (RedisKey)batch.Key(i);
            var values = batch.Values(i);
            var entries = new List<HashEntry>(values.Length + 1);
            absent.Clear();
            for (var field = 0; field < values.Length; field++)
            {
                if (values[field] is { } value)
                {
                    entries.Add(new HashEntry(batch.Fields[field], value));
                }
                else
                {
                    absent.Add(batch.Fields[field]);
                }
            }
            entries.Add(storedAt);
            writes.Add(_database.HashSetAsync(key, [.. entries]));
            if (absent.Count > 0)
            {
                writes.Add(_database.HashDeleteAsync(key, [.. absent]));
            }
            if (ttl is { } expiry)
            {
                writes.Add(_database.KeyExpireAsync(key, expiry));
            }
        }
        try
        {
            await Task.WhenAll(writes).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (RedisException e)
        {
            throw new StoreException($"the Redis at {Address} refused a write: {RedisOptions.Detail(Address, e)}", e);
        }
    }

    public Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async ValueTask DisposeAsync() => await _redis.DisposeAsync().ConfigureAwait(false);
}
