using System.Text;
using InferenceServer.FeatureSidecar.Stores;

namespace InferenceServer.UnitTests.FeatureSidecar;

/// <summary>
/// The embedded store: rows read in key order with their write time, absent fields and entities, expiry on the fake
/// clock, a row that replaces an entity's fields, and the file written atomically and read back (expired entities
/// dropped, a damaged file refused with a message); a serving store reloads its file when it changes, whole, and keeps
/// the last good load when the new file cannot be read or is gone.
/// </summary>
public sealed class FileOnlineStoreTests : IDisposable
{
    private static readonly string[] Fields = ["age", "workclass"];

    private readonly string _folder = Directory.CreateTempSubdirectory("file-store-").FullName;
    private readonly ManualTimeProvider _time = new();

    private StoreAddress Address => StoreAddress.TryParse("file:" + Path.Combine(_folder, "store.msgpack"), out _)!;

    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private static EntityBatch Batch(params (string Key, string?[] Values)[] rows)
    {
        var batch = new EntityBatch(Fields);
        foreach (var (key, values) in rows)
        {
            batch.Add(key, values);
        }
        return batch;
    }

    // Values with absent ones (null) compared as sequences: xUnit's array overloads refuse nullable elements.
    private static void AssertValues(IEnumerable<string?> expected, IEnumerable<string?> actual) => Assert.Equal(expected, actual);

    private static string?[] Row(StoreRows rows, int row)
    {
        var values = new string?[rows.FieldCount];
        for (var field = 0; field < rows.FieldCount; field++)
        {
            values[field] = rows.Values[row * rows.FieldCount + field] is { } value ? Encoding.UTF8.GetString(value.Span) : null;
        }
        return values;
    }

    [Fact]
    public async Task ARowReadsBackInKeyOrderWithItsWriteTimeAndAbsentFields()
    {
        var store = FileOnlineStore.Open(Address, _time);
        await store.WriteAsync(Batch(("v:1", ["39", "State-gov"]), ("v:2", ["50", null])), Now, null, default);

        var rows = await store.ReadAsync(["v:2", "v:404", "v:1"], ["workclass", "age", "other"], default);

        Assert.Equal([Now, 0, Now], rows.StoredAt);
        AssertValues([null, "50", null], Row(rows, 0));
        AssertValues([null, null, null], Row(rows, 1));
        AssertValues(["State-gov", "39", null], Row(rows, 2));
    }

    [Fact]
    public async Task AnEntityPastItsTtlIsNotFound()
    {
        var store = FileOnlineStore.Open(Address, _time);
        await store.WriteAsync(Batch(("v:1", ["39", "State-gov"])), Now, TimeSpan.FromMinutes(10), default);

        _time.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromMilliseconds(1));
        Assert.NotEqual(0, (await store.ReadAsync(["v:1"], Fields, default)).StoredAt[0]);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, (await store.ReadAsync(["v:1"], Fields, default)).StoredAt[0]);
    }

    [Fact]
    public async Task ARowWrittenAgainReplacesTheViewsFieldsAndKeepsOthers()
    {
        var store = FileOnlineStore.Open(Address, _time);
        var other = new EntityBatch(["score"]);
        other.Add("v:1", ["0.7"]);
        await store.WriteAsync(other, Now, null, default);
        await store.WriteAsync(Batch(("v:1", ["39", "State-gov"])), Now, null, default);
        _time.Advance(TimeSpan.FromSeconds(1));
        await store.WriteAsync(Batch(("v:1", ["40", null])), Now, null, default);

        var rows = await store.ReadAsync(["v:1"], ["age", "workclass", "score"], default);

        AssertValues(["40", null, "0.7"], Row(rows, 0));
        Assert.Equal(Now, rows.StoredAt[0]);
    }

    [Fact]
    public async Task TheFileIsWrittenWholeAndReadBackWithoutExpiredEntities()
    {
        var store = FileOnlineStore.Open(Address, _time);
        await store.WriteAsync(Batch(("v:1", ["39", "Ünïcödé"]), ("v:2", ["50", null])), Now, null, default);
        await store.WriteAsync(Batch(("v:3", ["1", "2"])), Now, TimeSpan.FromSeconds(5), default);
        _time.Advance(TimeSpan.FromSeconds(5));
        await store.FlushAsync(default);

        var reopened = FileOnlineStore.Open(Address, _time);
        var rows = await reopened.ReadAsync(["v:1", "v:2"], Fields, default);

        Assert.Equal(2, reopened.Count);
        AssertValues(["39", "Ünïcödé"], Row(rows, 0));
        AssertValues(["50", null], Row(rows, 1));
        Assert.Equal(Now - 5000, rows.StoredAt[0]);
        // Nothing left behind but the store itself.
        Assert.Equal(["store.msgpack"], Directory.GetFiles(_folder).Select(Path.GetFileName));
    }

    [Fact]
    public void ADamagedFileIsRefusedNamingIt()
    {
        File.WriteAllBytes(Address.FilePath!, [0x93, 0xa3, 0x61, 0x62]);

        var error = Assert.Throws<StoreException>(() => FileOnlineStore.Open(Address, _time));

        Assert.Contains(Address.FilePath!, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoFileYetIsAnEmptyStore()
    {
        var store = FileOnlineStore.Open(Address, _time);

        Assert.Equal(0, store.Count);
        Assert.Equal(0, (await store.ReadAsync(["v:1"], Fields, default)).StoredAt[0]);
    }

    [Fact]
    public async Task AServingStoreReloadsItsFileWhenItChangesAndOnlyThen()
    {
        await WriteFileAsync(("v:1", ["39", "State-gov"]));
        var observer = new RecordingStoreObserver();
        await using var serving = FileOnlineStore.Open(Address, _time, observer);
        AssertValues(["39", "State-gov"], Row(await serving.ReadAsync(["v:1"], Fields, default), 0));

        // Materialize beside it: a new file renamed over the old one.
        await WriteFileAsync(("v:1", ["40", "Private"]), ("v:2", ["50", "Never-worked"]));
        AssertValues(["39", "State-gov"], Row(await serving.ReadAsync(["v:1"], Fields, default), 0));
        _time.Advance(FileOnlineStore.ReloadInterval);

        var rows = await serving.ReadAsync(["v:1", "v:2"], Fields, default);
        AssertValues(["40", "Private"], Row(rows, 0));
        AssertValues(["50", "Never-worked"], Row(rows, 1));
        Assert.Equal(2, serving.Count);
        // Unchanged since: no second load.
        _time.Advance(FileOnlineStore.ReloadInterval * 4);
        Assert.Equal(["reloaded: 2"], observer.Events);
    }

    [Fact]
    public async Task AFileThatCannotBeLoadedOrIsGoneLeavesTheLastGoodLoadServing()
    {
        await WriteFileAsync(("v:1", ["39", "State-gov"]));
        var observer = new RecordingStoreObserver();
        await using var serving = FileOnlineStore.Open(Address, _time, observer);

        var damaged = Address.FilePath! + ".new";
        File.WriteAllBytes(damaged, [0x93, 0xa3, 0x61, 0x62]);
        File.Move(damaged, Address.FilePath!, overwrite: true);
        _time.Advance(FileOnlineStore.ReloadInterval);
        AssertValues(["39", "State-gov"], Row(await serving.ReadAsync(["v:1"], Fields, default), 0));
        // Reported once, not at every look.
        _time.Advance(FileOnlineStore.ReloadInterval * 4);
        File.Delete(Address.FilePath!);
        _time.Advance(FileOnlineStore.ReloadInterval);
        AssertValues(["39", "State-gov"], Row(await serving.ReadAsync(["v:1"], Fields, default), 0));
        // Back with good content: served.
        await WriteFileAsync(("v:1", ["41", "Local-gov"]));
        _time.Advance(FileOnlineStore.ReloadInterval);

        AssertValues(["41", "Local-gov"], Row(await serving.ReadAsync(["v:1"], Fields, default), 0));
        var events = observer.Events;
        Assert.Equal(3, events.Count);
        Assert.StartsWith($"reload failed, kept 1: the store file {Address.FilePath} is damaged", events[0], StringComparison.Ordinal);
        Assert.Equal($"reload failed, kept 1: the store file {Address.FilePath} is gone", events[1]);
        Assert.Equal("reloaded: 1", events[2]);
    }

    [Fact]
    public async Task AStoreOpenedToWriteNeverReloads()
    {
        await WriteFileAsync(("v:1", ["39", "State-gov"]));
        await using var writing = FileOnlineStore.Open(Address, _time);

        await WriteFileAsync(("v:1", ["40", "Private"]));
        _time.Advance(FileOnlineStore.ReloadInterval * 2);

        AssertValues(["39", "State-gov"], Row(await writing.ReadAsync(["v:1"], Fields, default), 0));
        Assert.Equal(0, _time.ArmedTimers);
    }

    // Writes the file as materialize does: a store opened to write, its rows, a flush (to a temporary file renamed over).
    private async Task WriteFileAsync(params (string Key, string?[] Values)[] rows)
    {
        File.Delete(Address.FilePath!);
        await using var writer = FileOnlineStore.Open(Address, _time);
        await writer.WriteAsync(Batch(rows), Now, null, default);
        await writer.FlushAsync(default);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
