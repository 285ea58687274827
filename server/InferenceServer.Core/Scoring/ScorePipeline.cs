using System.Diagnostics;
using System.Globalization;
using InferenceServer.Core.Features;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Routing;
using InferenceServer.Core.Serving;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// A batch scoring run: files in, predictions out, through the front door (so routes, versions and feature views behave
/// as when serving). This class prepares the run (the model and its encoder, the input's splits and this shard's, the
/// output folder and its manifest, checked and cleaned for a resume) and keeps its progress; <see cref="ScoreStages"/>
/// runs it: read, encode and infer, write and commit, at once over bounded channels, so memory is the batches in flight,
/// bounded by the memory limit, never the file.
/// </summary>
public sealed class ScorePipeline
{
    /// <summary>The quarantine file's name in the output folder, when no other is given.</summary>
    public const string QuarantineFileName = "_quarantine.jsonl";

    /// <summary>Part files are named this, then the split's index (six digits, so names sort in input order), then the format's extension.</summary>
    public const string PartPrefix = "part-";

    /// <summary>A part file's name while it is written, before its commit renames it.</summary>
    internal const string TemporarySuffix = ".tmp";

    private readonly InferenceFrontDoor _frontDoor;
    private readonly ScoreOptions _options;
    private readonly TimeProvider _time;

    internal InferenceFrontDoor FrontDoor => _frontDoor;

    internal ScoreOptions Options => _options;

    internal TimeProvider Time => _time;

    /// <summary>
    /// What the splits being read may hold decoded together: half of <see cref="MemoryLimit"/>; an eighth
    /// is the part writer's (<see cref="WriterBytes"/>), and the rest bounds the batches in flight (<see cref="BatchBytes"/>).
    /// Kept after the run, for the tests.
    /// </summary>
    internal ReadBudget ReadBudget { get; private set; } = new(0);

    /// <summary>The share of the memory limit the batches in flight may hold.</summary>
    internal static long BatchBytes(long memoryLimit) => memoryLimit - ReadBytes(memoryLimit) - WriterBytes(memoryLimit);

    /// <summary>The share of the memory limit the part writer may buffer: a Parquet part's row groups are sized by it.</summary>
    internal static long WriterBytes(long memoryLimit) => memoryLimit / 8;

    private static long ReadBytes(long memoryLimit) => memoryLimit / 2;
    private readonly Lock _progressLock = new();
    private long _started;
    private long _rows;
    private long _bad;
    private int _splitsDone;
    private int _splitsTotal;
    private double _weightDone;
    private double _weightTotal;
    private InputSplit? _current;
    private long _currentRows;
    private double _bytesPerTextRow;

    /// <summary>A run of <paramref name="options"/> on <paramref name="frontDoor"/>'s models (loaded already).</summary>
    public ScorePipeline(InferenceFrontDoor frontDoor, ScoreOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(frontDoor);
        ArgumentNullException.ThrowIfNull(options);
        _frontDoor = frontDoor;
        _options = options;
        _time = time ?? TimeProvider.System;
        _heapLimit = HeapLimit();
        MemoryLimit = CapMemoryLimit(options.MemoryLimit, _heapLimit);
    }

    /// <summary>
    /// What the run holds at most: <see cref="ScoreOptions.MemoryLimit"/>, or half of what this process's collector may
    /// hold when that is less (a GC heap hard limit: DOTNET_GCHeapHardLimit, or 75% of a container's memory limit).
    /// The other half is the process itself (the model, the runtime) and the collector's room to work in; a run asked
    /// to hold more than it may ran out of memory instead.
    /// </summary>
    public long MemoryLimit { get; }

    /// <summary>Why <see cref="MemoryLimit"/> is less than asked; null when it is what was asked.</summary>
    public string? MemoryLimitNote => MemoryLimit < _options.MemoryLimit
        ? $"--memory-limit {_options.MemoryLimit >> 20} MB is more than half of the {_heapLimit >> 20} MB this process may hold (DOTNET_GCHeapHardLimit, or 75% of a container's memory limit): the run holds at most {MemoryLimit >> 20} MB"
        : null;

    /// <summary>The memory limit a run holds to under a collector that may hold <paramref name="heapBytes"/> (0: unknown).</summary>
    internal static long CapMemoryLimit(long asked, long heapBytes) => heapBytes > 0 ? Math.Min(asked, heapBytes / 2) : asked;

    // What the collector may hold (0: unknown), read once for the run.
    private readonly long _heapLimit;

    /// <summary>
    /// What the collector may hold: its hard limit when it has one, else the machine's (or container's) memory. Known
    /// once it has collected; before that, the configured hard limit, if any; 0 when neither is known.
    /// </summary>
    internal static long HeapLimit()
    {
        var available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (available > 0)
        {
            return available;
        }
        return GC.GetConfigurationVariables().TryGetValue("GCHeapHardLimit", out var limit) && limit is ulong bytes and > 0 and < long.MaxValue ? (long)bytes : 0;
    }

    /// <summary>Where every scored batch's features and predictions are recorded for the drift report; null: no report.</summary>
    public ScoreDrift? Drift { get; init; }

    /// <summary>Where the run is now; safe to read from any thread while it runs.</summary>
    public ScoreProgress Progress
    {
        get
        {
            lock (_progressLock)
            {
                var elapsed = _started == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(_started);
                var current = 0.0;
                if (_current is { } split && split.Length > 0)
                {
                    var perRow = split.Rows > 0 ? (double)split.Length / split.Rows : _bytesPerTextRow;
                    current = Math.Min(split.Length * 0.99, _currentRows * perRow);
                }
                // Nothing is done before the input is planned; an input of no bytes is done once it is.
                var fraction = !_planned ? 0
                    : _weightTotal <= 0 ? (_splitsTotal == 0 ? 1 : (double)_splitsDone / _splitsTotal)
                    : Math.Min(1, (_weightDone + current) / _weightTotal);
                var rate = elapsed.TotalSeconds > 0 ? _rows / elapsed.TotalSeconds : 0;
                TimeSpan? remaining = null;
                if (fraction >= 1)
                {
                    remaining = TimeSpan.Zero;
                }
                else if (_rows > 0 && fraction > 0 && _weightDone + current > 0)
                {
                    // The share done this run (a resume starts part way) over the time it took.
                    var doneThisRun = fraction - _resumedFraction;
                    if (doneThisRun > 0)
                    {
                        remaining = TimeSpan.FromSeconds(elapsed.TotalSeconds * (1 - fraction) / doneThisRun);
                    }
                }
                return new ScoreProgress(_rows, _bad, _splitsDone, _splitsTotal, fraction, elapsed, rate, remaining);
            }
        }
    }

    private double _resumedFraction;
    private bool _planned;

    /// <summary>Runs to the end of the shard's input; returns what it did.</summary>
    /// <exception cref="ScoreException">The run cannot go on (the message says why); what was committed stays.</exception>
    /// <exception cref="TooManyBadRowsException">Bad rows passed <see cref="ScoreOptions.MaxBadRows"/>.</exception>
    public async Task<ScoreSummary> RunAsync(CancellationToken cancellationToken)
    {
        _started = Stopwatch.GetTimestamp();
        var options = _options;
        // The model first: a wrong name is the likeliest mistake, and the cheapest to report.
        ModelTarget described;
        try
        {
            described = _frontDoor.Describe(options.Model, options.ModelVersion, default);
        }
        catch (InferenceException e)
        {
            throw new ScoreException($"cannot score with model '{options.Model}'{(options.ModelVersion is null ? "" : $" version {options.ModelVersion}")}: {e.Message}", e);
        }
        var config = described.Config;
        var view = _frontDoor.FindFeatureView(options.Model);
        BatchEncoder encoder = view is null ? new TensorEncoder(config) : new ViewEncoder(view);
        var batchSize = ChooseBatchSize(config, options.BatchSize);

        var files = ScoreInput.ResolveFiles(options.Input);
        var all = await InputSplits.PlanAsync(files, options.SplitBytes, cancellationToken).ConfigureAwait(false);
        var splits = InputSplits.Shard(all, options.Shard, options.Shards);
        var fileColumns = await FileColumnsAsync(splits.Count > 0 ? splits[0] : all.Count > 0 ? all[0] : null, cancellationToken).ConfigureAwait(false);
        var keys = KeyColumns(options, view, fileColumns);
        var missing = encoder.Columns.Where(c => fileColumns is not null && !fileColumns.Contains(c)).ToArray();
        if (view is null && missing.Length > 0)
        {
            throw new ScoreException($"the input has no column '{missing[0]}' for model '{options.Model}' input '{missing[0]}'; its columns are {string.Join(", ", fileColumns!)}");
        }
        var schema = new OutputSchema(options.Model, keys, config, view?.Prediction);

        var output = Path.GetFullPath(options.Output);
        var quarantinePath = Path.GetFullPath(options.Quarantine ?? Path.Combine(output, QuarantineFileName));
        var manifest = OpenOutput(output, quarantinePath, splits, keys);
        var done = new HashSet<int>(manifest.Splits.Select(s => s.Index));
        var pending = splits.Where(s => !done.Contains(s.Index)).ToArray();
        lock (_progressLock)
        {
            _splitsTotal = splits.Count;
            _splitsDone = splits.Count - pending.Length;
            _weightTotal = splits.Sum(s => (double)s.Length);
            _weightDone = splits.Where(s => done.Contains(s.Index)).Sum(s => (double)s.Length);
            _resumedFraction = _weightTotal > 0 ? _weightDone / _weightTotal : 0;
            _planned = true;
        }

        ReadBudget = new ReadBudget(ReadBytes(MemoryLimit));
        var run = new ScoreStages(this, encoder, schema, manifest, output, quarantinePath, batchSize, keys);
        var versions = await run.ExecuteAsync(pending, cancellationToken).ConfigureAwait(false);
        return Summary(manifest, output, quarantinePath, pending.Length, splits.Count - pending.Length, batchSize, versions, view is null ? [] : missing);
    }

    internal ScoreSummary Summary(ScoreManifest manifest, string output, string quarantine, int scored, int resumed, int batchSize, IEnumerable<string> versions,
        IReadOnlyList<string> missing)
    {
        var progress = Progress;
        return new ScoreSummary
        {
            Model = _options.Model,
            ModelVersions = string.Join(",", versions),
            Output = output,
            Quarantine = quarantine,
            Rows = progress.Rows,
            BadRows = progress.BadRows,
            TotalRows = manifest.Rows,
            TotalBadRows = manifest.BadRows,
            SplitsScored = scored,
            SplitsResumed = resumed,
            SplitsTotal = manifest.PlannedSplits,
            Shard = manifest.Shard,
            BatchSize = batchSize,
            Elapsed = progress.Elapsed,
            Complete = manifest.Complete,
            MissingColumns = missing,
        };
    }

    // The model's max_batch_size bounds a request; within it, bigger is faster (fewer requests, longer runs of ORT).
    private static int ChooseBatchSize(ModelConfig config, int asked)
    {
        const int Unbounded = 1024;
        var limit = config.MaxBatchSize > 0 ? config.MaxBatchSize : Unbounded;
        return asked > 0 ? Math.Min(asked, limit) : limit;
    }

    private static async Task<IReadOnlyList<string>?> FileColumnsAsync(InputSplit? split, CancellationToken cancellationToken)
    {
        if (split is null)
        {
            return null;
        }
        await using var reader = await RecordReader.OpenAsync(split, [], cancellationToken).ConfigureAwait(false);
        return reader.FileColumns;
    }

    private static IReadOnlyList<string> KeyColumns(ScoreOptions options, FeatureView? view, IReadOnlyList<string>? fileColumns)
    {
        if (options.KeyColumns is { } given)
        {
            foreach (var key in given)
            {
                if (fileColumns is not null && fileColumns.Count > 0 && !fileColumns.Contains(key))
                {
                    throw new ScoreException($"--key-columns: the input has no column '{key}'; its columns are {string.Join(", ", fileColumns)}");
                }
            }
            return given;
        }
        return view is null || fileColumns is null ? [] : [.. view.EntityKeys.Where(fileColumns.Contains)];
    }

    // Opens (or creates) the output folder's manifest, checks a resumed run is the same run over the same input, and
    // removes what the last run left uncommitted: part files the manifest does not name, and quarantine lines past it.
    private ScoreManifest OpenOutput(string output, string quarantine, IReadOnlyList<InputSplit> splits, IReadOnlyList<string> keys)
    {
        var options = _options;
        Directory.CreateDirectory(output);
        var format = FormatName(options.OutputFormat);
        var shard = $"{options.Shard.ToString(CultureInfo.InvariantCulture)}/{options.Shards.ToString(CultureInfo.InvariantCulture)}";
        var manifest = ScoreManifest.Load(output);
        var leftovers = Directory.EnumerateFiles(output, PartPrefix + "*").ToList();
        if (!options.Resume && (manifest is not null || leftovers.Count > 0))
        {
            throw new ScoreException($"output folder '{output}' holds the output of an earlier run ({(manifest is not null ? ScoreManifest.FileName : "part files")}): add --resume to continue it, or give another --output");
        }
        if (manifest is not null)
        {
            Same("model", manifest.Model, options.Model);
            Same("output format", manifest.OutputFormat, format);
            Same("shard", manifest.Shard, shard);
            Same("split size", manifest.SplitBytes.ToString(CultureInfo.InvariantCulture), options.SplitBytes.ToString(CultureInfo.InvariantCulture));
            Same("key columns", string.Join(",", manifest.KeyColumns), string.Join(",", keys));
            Same("quarantine file", manifest.Quarantine, quarantine);
            var byIndex = splits.ToDictionary(s => s.Index);
            foreach (var committed in manifest.Splits)
            {
                if (!byIndex.TryGetValue(committed.Index, out var split) || split.Path != committed.File || split.IndexInFile != committed.IndexInFile)
                {
                    throw new ScoreException($"the input is not the one the run in '{output}' began with: split {committed.Index} was {committed.File} #{committed.IndexInFile}; start a new run in another folder");
                }
                if (split.FileSize != committed.FileSize || split.FileModified != committed.FileModified)
                {
                    throw new ScoreException($"input file '{split.Path}' changed since the run in '{output}' began (its size or modification time differs): start a new run in another folder");
                }
                var part = Path.Combine(output, committed.Part);
                if (!File.Exists(part) || new FileInfo(part).Length != committed.PartBytes)
                {
                    throw new ScoreException($"part file '{part}' of a committed split is missing or changed: the output folder was edited; start a new run in another folder");
                }
            }
        }
        else
        {
            manifest = new ScoreManifest
            {
                Model = options.Model,
                OutputFormat = format,
                Shard = shard,
                SplitBytes = options.SplitBytes,
                PlannedSplits = splits.Count,
                Quarantine = quarantine,
                KeyColumns = keys,
                Complete = splits.Count == 0,
            };
        }
        var committedParts = new HashSet<string>(manifest.Splits.Select(s => s.Part), StringComparer.Ordinal);
        foreach (var file in leftovers)
        {
            if (!committedParts.Contains(Path.GetFileName(file)))
            {
                File.Delete(file);
            }
        }
        using (var file = new FileStream(quarantine, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read))
        {
            if (file.Length > manifest.QuarantineBytes)
            {
                file.SetLength(manifest.QuarantineBytes);
            }
        }
        manifest.Save(output);
        return manifest;

        void Same(string what, string was, string now)
        {
            if (was != now)
            {
                throw new ScoreException($"--resume: the run in '{output}' has {what} '{was}'; this command gives '{now}': resume with the same settings, or give another --output");
            }
        }
    }

    private static string FormatName(OutputFormat format) => format switch
    {
        OutputFormat.Parquet => "parquet",
        OutputFormat.Csv => "csv",
        _ => "jsonl",
    };

    /// <summary>The part file name of split <paramref name="index"/>.</summary>
    public static string PartName(int index, OutputFormat format) =>
        PartPrefix + index.ToString("D6", CultureInfo.InvariantCulture) + PartWriter.Extension(format);

    internal void Read(InputSplit split, long rows)
    {
        lock (_progressLock)
        {
            _current = split;
            _currentRows = rows;
        }
    }

    // A split is committed; its rows were counted as they were written (Scored). Text splits teach the bytes a row takes.
    internal void Committed(InputSplit split, long rowsRead)
    {
        lock (_progressLock)
        {
            _splitsDone++;
            _weightDone += split.Length;
            _current = null;
            _currentRows = 0;
            if (split.Rows < 0 && rowsRead > 0)
            {
                _bytesPerTextRow = (double)split.Length / rowsRead;
            }
        }
    }

    internal void Scored(long rows, long bad)
    {
        lock (_progressLock)
        {
            _rows += rows;
            _bad += bad;
        }
    }
}
