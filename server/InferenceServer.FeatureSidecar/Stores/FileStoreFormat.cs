using System.Buffers;
using MessagePack;

namespace InferenceServer.FeatureSidecar.Stores;

/// <summary>
/// The embedded store's file: one MessagePack array, <c>["feature-sidecar store", 1, [[key, stored_at, expires_at,
/// [field, value, field, value, ...]], ...]]</c> (values as binary UTF-8). Written whole to a temporary file beside it
/// and renamed over it, so a reader (or a crash) never sees half a file.
/// </summary>
internal static class FileStoreFormat
{
    private const string Magic = "feature-sidecar store";
    private const int Version = 1;

    /// <summary>The entities in the file at <paramref name="path"/>; empty when there is no file yet.</summary>
    public static Dictionary<string, StoredEntity> Load(string path)
    {
        var entities = new Dictionary<string, StoredEntity>(StringComparer.Ordinal);
        if (!File.Exists(path))
        {
            return entities;
        }
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StoreException($"cannot read the store file {path}: {e.Message}", e);
        }
        try
        {
            var reader = new MessagePackReader(bytes);
            if (reader.ReadArrayHeader() != 3 || reader.ReadString() != Magic)
            {
                throw new StoreException($"{path} is not a feature-sidecar store file (it does not start with \"{Magic}\")");
            }
            var version = reader.ReadInt32();
            if (version != Version)
            {
                throw new StoreException($"the store file {path} is of version {version}; this sidecar reads version {Version}");
            }
            var count = reader.ReadArrayHeader();
            entities.EnsureCapacity(count);
            for (var i = 0; i < count; i++)
            {
                if (reader.ReadArrayHeader() != 4)
                {
                    throw new StoreException($"entity {i} of the store file {path} does not have 4 elements [key, stored_at, expires_at, fields]");
                }
                var key = reader.ReadString() ?? throw new StoreException($"entity {i} of the store file {path} has no key");
                var storedAt = reader.ReadInt64();
                var expiresAt = reader.ReadInt64();
                var pairs = reader.ReadArrayHeader();
                var fields = new Dictionary<string, byte[]>(pairs / 2, StringComparer.Ordinal);
                for (var p = 0; p + 1 < pairs; p += 2)
                {
                    var name = reader.ReadString() ?? throw new StoreException($"entity '{key}' of the store file {path} has a field without a name");
                    fields[name] = reader.ReadBytes()?.ToArray() ?? [];
                }
                entities[key] = new StoredEntity(storedAt, expiresAt, fields);
            }
            return entities;
        }
        catch (Exception e) when (e is MessagePackSerializationException or EndOfStreamException or OverflowException or InvalidOperationException)
        {
            throw new StoreException($"the store file {path} is damaged: {e.Message}", e);
        }
    }

    /// <summary>Writes <paramref name="entities"/> (all but those expired by <paramref name="nowUnixMilliseconds"/>) to <paramref name="path"/> atomically.</summary>
    public static void Save(string path, Dictionary<string, StoredEntity> entities, long nowUnixMilliseconds)
    {
        var buffer = new ArrayBufferWriter<byte>(Math.Max(4096, entities.Count * 64));
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(3);
        writer.Write(Magic);
        writer.Write(Version);
        var live = 0;
        foreach (var entity in entities.Values)
        {
            live += entity.IsExpired(nowUnixMilliseconds) ? 0 : 1;
        }
        writer.WriteArrayHeader(live);
        foreach (var (key, entity) in entities)
        {
            if (entity.IsExpired(nowUnixMilliseconds))
            {
                continue;
            }
            writer.WriteArrayHeader(4);
            writer.Write(key);
            writer.Write(entity.StoredAt);
            writer.Write(entity.ExpiresAt);
            writer.WriteArrayHeader(entity.Fields.Count * 2);
            foreach (var (name, value) in entity.Fields)
            {
                writer.Write(name);
                writer.Write(value.AsSpan());
            }
        }
        writer.Flush();

        var folder = Path.GetDirectoryName(path)!;
        var temporary = Path.Combine(folder, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        try
        {
            Directory.CreateDirectory(folder);
            using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                file.Write(buffer.WrittenSpan);
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            File.Delete(temporary);
            throw new StoreException($"cannot write the store file {path}: {e.Message}", e);
        }
    }
}
