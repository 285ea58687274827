using System.Text.Json;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// The output folder's record of what is done (<c>_manifest.json</c>): the run's settings, every committed split with
/// its part's size and checksum, and how far the quarantine file is committed. It is replaced whole and atomically
/// (written to a temporary file, flushed to disk, renamed over the old one) after each split's part is in place, so
/// after any crash it names exactly the parts that are complete; anything else in the folder is a leftover.
/// </summary>
public sealed class ScoreManifest
{
    /// <summary>The manifest's file name in the output folder.</summary>
    public const string FileName = "_manifest.json";

    private const int FormatVersion = 1;

    /// <summary>The model scored.</summary>
    public required string Model { get; init; }

    /// <summary>The output format's name (parquet, csv, jsonl).</summary>
    public required string OutputFormat { get; init; }

    /// <summary>The shard, <c>i/N</c>.</summary>
    public required string Shard { get; init; }

    /// <summary>The byte size text inputs were cut at.</summary>
    public required long SplitBytes { get; init; }

    /// <summary>The splits of the shard, in all (done or not).</summary>
    public required int PlannedSplits { get; init; }

    /// <summary>The quarantine file (a full path).</summary>
    public required string Quarantine { get; init; }

    /// <summary>The key columns written.</summary>
    public required IReadOnlyList<string> KeyColumns { get; init; }

    /// <summary>The committed splits, in commit (input) order.</summary>
    public List<CommittedSplit> Splits { get; init; } = [];

    /// <summary>Bytes of the quarantine file that belong to committed splits.</summary>
    public long QuarantineBytes { get; set; }

    /// <summary>True once every split of the shard is committed.</summary>
    public bool Complete { get; set; }

    /// <summary>Rows written over the committed splits.</summary>
    public long Rows => Splits.Sum(s => s.Rows);

    /// <summary>Rows quarantined over the committed splits.</summary>
    public long BadRows => Splits.Sum(s => s.BadRows);

    /// <summary>The manifest in <paramref name="folder"/>; null when there is none.</summary>
    /// <exception cref="ScoreException">A manifest that cannot be read.</exception>
    public static ScoreManifest? Load(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            if (root.GetProperty("format_version").GetInt32() != FormatVersion)
            {
                throw new ScoreException($"{path} is of another format version than this server writes ({FormatVersion})");
            }
            var manifest = new ScoreManifest
            {
                Model = root.GetProperty("model").GetString()!,
                OutputFormat = root.GetProperty("output_format").GetString()!,
                Shard = root.GetProperty("shard").GetString()!,
                SplitBytes = root.GetProperty("split_bytes").GetInt64(),
                PlannedSplits = root.GetProperty("planned_splits").GetInt32(),
                Quarantine = root.GetProperty("quarantine").GetString()!,
                KeyColumns = [.. root.GetProperty("key_columns").EnumerateArray().Select(e => e.GetString()!)],
                QuarantineBytes = root.GetProperty("quarantine_bytes").GetInt64(),
                Complete = root.GetProperty("complete").GetBoolean(),
            };
            foreach (var split in root.GetProperty("splits").EnumerateArray())
            {
                manifest.Splits.Add(new CommittedSplit(
                    split.GetProperty("index").GetInt32(),
                    split.GetProperty("file").GetString()!,
                    split.GetProperty("index_in_file").GetInt32(),
                    split.GetProperty("file_size").GetInt64(),
                    split.GetProperty("file_modified").GetInt64(),
                    split.GetProperty("rows").GetInt64(),
                    split.GetProperty("bad_rows").GetInt64(),
                    split.GetProperty("part").GetString()!,
                    split.GetProperty("part_bytes").GetInt64(),
                    split.GetProperty("checksum").GetString()!));
            }
            return manifest;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new ScoreException($"{path} is not a manifest this server can read ({e.Message}); move it away to start the run afresh", e);
        }
    }

    /// <summary>Replaces the manifest in <paramref name="folder"/> atomically, flushed to disk before the rename.</summary>
    public void Save(string folder)
    {
        var path = Path.Combine(folder, FileName);
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 12))
        {
            using (var json = new Utf8JsonWriter(file, new JsonWriterOptions { Indented = true }))
            {
                json.WriteStartObject();
                json.WriteNumber("format_version", FormatVersion);
                json.WriteString("model", Model);
                json.WriteString("output_format", OutputFormat);
                json.WriteString("shard", Shard);
                json.WriteNumber("split_bytes", SplitBytes);
                json.WriteNumber("planned_splits", PlannedSplits);
                json.WriteString("quarantine", Quarantine);
                json.WriteStartArray("key_columns");
                foreach (var key in KeyColumns)
                {
                    json.WriteStringValue(key);
                }
                json.WriteEndArray();
                json.WriteNumber("rows", Rows);
                json.WriteNumber("bad_rows", BadRows);
                json.WriteNumber("quarantine_bytes", QuarantineBytes);
                json.WriteBoolean("complete", Complete);
                json.WriteStartArray("splits");
                foreach (var split in Splits)
                {
                    json.WriteStartObject();
                    json.WriteNumber("index", split.Index);
                    json.WriteString("file", split.File);
                    json.WriteNumber("index_in_file", split.IndexInFile);
                    json.WriteNumber("file_size", split.FileSize);
                    json.WriteNumber("file_modified", split.FileModified);
                    json.WriteNumber("rows", split.Rows);
                    json.WriteNumber("bad_rows", split.BadRows);
                    json.WriteString("part", split.Part);
                    json.WriteNumber("part_bytes", split.PartBytes);
                    json.WriteString("checksum", split.Checksum);
                    json.WriteEndObject();
                }
                json.WriteEndArray();
                json.WriteEndObject();
            }
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }
}
