using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using InferenceServer.Core.Features;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Routing;
using InferenceServer.Core.Serving;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// A batch scoring run: files in, predictions out, through the front door (so routes, versions and feature views behave
/// as when serving). Three stages run at once over bounded channels: the reader reads splits in order into pooled
/// batches; the dispatcher starts each batch's encode-and-infer on the thread pool (several in flight) and passes the
/// tasks on in order; the writer awaits them in order, writes each split's rows to its part file and commits the split
/// (part renamed into place, quarantined rows appended, manifest replaced). Memory is the batches in flight, bounded by
/// the memory limit, never the file.
/// </summary>
public sealed class ScorePipeline
{
    /// <summary>The quarantine file's name in the output folder, when no other is given.</summary>
    public const string QuarantineFileName = "_quarantine.jsonl";

    /// <summary>Part files are named this, then the split's index (six digits, so names sort in input order), then the format's extension.</summary>
    public const string PartPrefix = "part-";

    private const string TemporarySuffix = ".tmp";

    private readonly InferenceFrontDoor _frontDoor;
    private readonly ScoreOptions _options;
    private readonly TimeProvider _time;
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
    }

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
                var fraction = _weightTotal <= 0 ? (_splitsTotal == 0 ? 1 : (double)_splitsDone / _splitsTotal) : Math.Min(1, (_weightDone + current) / _weightTotal);
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
        }

        var run = new Run(this, encoder, schema, manifest, output, quarantinePath, batchSize, keys);
        var versions = await run.ExecuteAsync(pending, cancellationToken).ConfigureAwait(false);
        return Summary(manifest, output, quarantinePath, pending.Length, splits.Count - pending.Length, batchSize, versions, view is null ? [] : missing);
    }

    private ScoreSummary Summary(ScoreManifest manifest, string output, string quarantine, int scored, int resumed, int batchSize, IEnumerable<string> versions,
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

    private void Read(InputSplit split, long rows)
    {
        lock (_progressLock)
        {
            _current = split;
            _currentRows = rows;
        }
    }

    private void Committed(InputSplit split, long rows, long bad)
    {
        lock (_progressLock)
        {
            _rows += rows;
            _bad += bad;
            _splitsDone++;
            _weightDone += split.Length;
            _current = null;
            _currentRows = 0;
            if (split.Rows < 0 && rows + bad > 0)
            {
                _bytesPerTextRow = (double)split.Length / (rows + bad);
            }
        }
    }

    private void Scored(long rows, long bad)
    {
        lock (_progressLock)
        {
            _rows += rows;
            _bad += bad;
        }
    }

    /// <summary>One execution: the stages, the batches they share, and the writer's state.</summary>
    private sealed class Run(ScorePipeline owner, BatchEncoder encoder, OutputSchema schema, ScoreManifest manifest, string output, string quarantine,
        int batchSize, IReadOnlyList<string> keys)
    {
        // Splits read at once, and the batches each may hold ready (on top of the read-ahead channel).
        private const int ReadLanes = 2;
        private const int LaneBatches = 4;

        private readonly ConcurrentBag<RecordBatch> _batches = [];
        private readonly SortedSet<string> _versions = new(StringComparer.Ordinal);
        private readonly string[] _columns = [.. encoder.Columns, .. keys];

        public async Task<IEnumerable<string>> ExecuteAsync(IReadOnlyList<InputSplit> pending, CancellationToken cancellationToken)
        {
            var (readAhead, inFlight) = Buffers();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var reads = Channel.CreateBounded<(InputSplit Split, RecordBatch? Batch)>(new BoundedChannelOptions(readAhead) { SingleReader = true, SingleWriter = true });
            var scored = Channel.CreateBounded<Task<ScoredBatch>>(new BoundedChannelOptions(inFlight) { SingleReader = true, SingleWriter = true });
            var stages = new[]
            {
                Stage(() => ReadAsync(pending, reads.Writer, stop.Token), e => reads.Writer.TryComplete(e), stop),
                Stage(() => DispatchAsync(reads.Reader, scored.Writer, stop.Token), e => scored.Writer.TryComplete(e), stop),
                Stage(() => WriteAsync(scored.Reader, stop.Token), _ => { }, stop),
            };
            try
            {
                await Task.WhenAll(stages).ConfigureAwait(false);
            }
            catch
            {
                // The first failure that is not the others stopping because of it.
                var failure = stages.Where(s => s.IsFaulted).SelectMany(s => s.Exception!.InnerExceptions)
                    .FirstOrDefault(e => e is not OperationCanceledException);
                if (failure is not null)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
                }
                throw;
            }
            finally
            {
                // Batches still queued when a stage failed: their outputs go back to the pool.
                while (scored.Reader.TryRead(out var task))
                {
                    if (task.IsCompletedSuccessfully)
                    {
                        task.Result.Dispose();
                    }
                }
                while (_batches.TryTake(out var batch))
                {
                    batch.Dispose();
                }
            }
            return _versions;
        }

        // In flight: read-ahead batches waiting to be encoded, and encoded batches being inferred or waiting to be written.
        private (int ReadAhead, int InFlight) Buffers()
        {
            long inputBytes = 0;
            foreach (var column in encoder.Columns)
            {
                inputBytes += 64;
            }
            var rowBytes = _columns.Length * 48L + inputBytes * 2 + schema.Predictions.Count * 16L + keys.Count * 48L;
            var batches = owner._options.MemoryLimit / Math.Max(1, batchSize * rowBytes);
            var total = (int)Math.Clamp(batches, 4, 64);
            return (Math.Max(2, total / 4), Math.Max(2, total - total / 4));
        }

        // A stage that fails closes its output with the failure and stops the others.
        private static async Task Stage(Func<Task> body, Action<Exception?> complete, CancellationTokenSource stop)
        {
            try
            {
                await body().ConfigureAwait(false);
                complete(null);
            }
            catch (Exception e)
            {
                complete(e);
                await stop.CancelAsync().ConfigureAwait(false);
                throw;
            }
        }

        private RecordBatch RentBatch() => _batches.TryTake(out var batch) ? batch : new RecordBatch(_columns);

        // Splits are read by up to ReadLanes readers at once (decoding a Parquet row group or parsing CSV is the costliest
        // serial step), each into its own small bounded channel; their batches are passed on strictly in split order.
        private async Task ReadAsync(IReadOnlyList<InputSplit> pending, ChannelWriter<(InputSplit, RecordBatch?)> reads, CancellationToken cancellationToken)
        {
            var lanes = new Queue<(InputSplit Split, Channel<RecordBatch> Batches, Task Reading)>();
            var next = 0;
            try
            {
                while (next < pending.Count || lanes.Count > 0)
                {
                    while (lanes.Count < ReadLanes && next < pending.Count)
                    {
                        var split = pending[next++];
                        var batches = Channel.CreateBounded<RecordBatch>(new BoundedChannelOptions(LaneBatches) { SingleReader = true, SingleWriter = true });
                        lanes.Enqueue((split, batches, Task.Run(() => ReadSplitAsync(split, batches.Writer, cancellationToken), cancellationToken)));
                    }
                    var (current, channel, reading) = lanes.Dequeue();
                    await foreach (var batch in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                    {
                        await reads.WriteAsync((current, batch), cancellationToken).ConfigureAwait(false);
                    }
                    await reading.ConfigureAwait(false);
                    await reads.WriteAsync((current, null), cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                // A failure leaves lanes reading: they stop on the cancellation; their batches go back to the pool.
                foreach (var (_, channel, reading) in lanes)
                {
                    try
                    {
                        await reading.ConfigureAwait(false);
                    }
                    catch (Exception)
                    {
                        // Already reported by the stage that failed first.
                    }
                    while (channel.Reader.TryRead(out var batch))
                    {
                        _batches.Add(batch);
                    }
                }
            }
        }

        private async Task ReadSplitAsync(InputSplit split, ChannelWriter<RecordBatch> batches, CancellationToken cancellationToken)
        {
            try
            {
                await using var reader = await RecordReader.OpenAsync(split, _columns, cancellationToken).ConfigureAwait(false);
                while (true)
                {
                    var batch = RentBatch();
                    if (!await reader.ReadAsync(batch, batchSize, cancellationToken).ConfigureAwait(false))
                    {
                        _batches.Add(batch);
                        break;
                    }
                    await batches.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
                }
                batches.TryComplete();
            }
            catch (Exception e)
            {
                batches.TryComplete(e);
                throw;
            }
        }

        private async Task DispatchAsync(ChannelReader<(InputSplit Split, RecordBatch? Batch)> reads, ChannelWriter<Task<ScoredBatch>> scored, CancellationToken cancellationToken)
        {
            await foreach (var (split, batch) in reads.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                var task = batch is null
                    ? Task.FromResult(new ScoredBatch { Split = split, EndOfSplit = true })
                    : Task.Run(() => ScoreAsync(split, batch, cancellationToken), cancellationToken);
                await scored.WriteAsync(task, cancellationToken).ConfigureAwait(false);
            }
        }

        private async Task<ScoredBatch> ScoreAsync(InputSplit split, RecordBatch batch, CancellationToken cancellationToken)
        {
            var bad = new Dictionary<int, string>();
            foreach (var (row, reason) in batch.Problems)
            {
                bad.TryAdd(row, reason);
            }
            var good = new List<int>(batch.Count);
            Tensor[] inputs;
            string?[][] keyValues;
            BadRow[] badRows;
            var rowsRead = batch.Count;
            try
            {
                inputs = encoder.Encode(batch, good, bad, owner._time.GetUtcNow());
                keyValues = new string?[keys.Count][];
                var keyStart = encoder.Columns.Count;
                for (var k = 0; k < keys.Count; k++)
                {
                    var values = new string?[good.Count];
                    for (var i = 0; i < good.Count; i++)
                    {
                        values[i] = batch.CellText(keyStart + k, good[i]);
                    }
                    keyValues[k] = values;
                }
                badRows = new BadRow[bad.Count];
                var b = 0;
                foreach (var row in bad.Keys.Order())
                {
                    var raw = new KeyValuePair<string, string?>[_columns.Length];
                    for (var c = 0; c < _columns.Length; c++)
                    {
                        raw[c] = new(_columns[c], batch.CellText(c, row));
                    }
                    badRows[b++] = new BadRow(batch.RowNumber(row), raw, bad[row]);
                }
            }
            finally
            {
                _batches.Add(batch);
            }
            if (good.Count == 0)
            {
                return new ScoredBatch { Split = split, Bad = badRows, RowsRead = rowsRead, Keys = keyValues };
            }
            using var request = new InferenceRequest { ModelName = owner._options.Model, ModelVersion = owner._options.ModelVersion };
            request.Inputs.AddRange(inputs);
            request.RequestedOutputs.AddRange(schema.Outputs);
            InferenceResponse response;
            try
            {
                var target = owner._frontDoor.Resolve(owner._options.Model, owner._options.ModelVersion, default);
                response = await owner._frontDoor.InferAsync(target, request, default, cancellationToken).ConfigureAwait(false);
            }
            catch (InferenceException e)
            {
                throw new ScoreException($"model '{owner._options.Model}' failed on rows of {split}: {e.Message}", e);
            }
            var outputs = response.Outputs;
            foreach (var tensor in outputs)
            {
                if (tensor.Shape.Length == 0 || tensor.Shape[0] != good.Count)
                {
                    response.Dispose();
                    throw new ScoreException($"model '{owner._options.Model}' answered {good.Count} rows with output '{tensor.Name}' of shape [{string.Join(", ", tensor.Shape)}]: batch scoring needs one output row per input row");
                }
            }
            return new ScoredBatch { Split = split, Count = good.Count, Keys = keyValues, Outputs = outputs, ModelVersion = response.ModelVersion, Bad = badRows, RowsRead = rowsRead };
        }

        private async Task WriteAsync(ChannelReader<Task<ScoredBatch>> scored, CancellationToken cancellationToken)
        {
            var format = owner._options.OutputFormat;
            InputSplit? split = null;
            FileStream? file = null;
            HashingStream? hashing = null;
            PartWriter? part = null;
            string? temporary = null;
            var badRows = new List<BadRow>();
            long rows = 0;
            long read = 0;
            var limit = owner._options.MaxBadRows;
            long earlierBad = manifest.BadRows;
            long earlierRead = manifest.Rows + manifest.BadRows;
            try
            {
                await foreach (var task in scored.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                {
                    using var batch = await task.ConfigureAwait(false);
                    if (part is null)
                    {
                        split = batch.Split;
                        temporary = Path.Combine(output, PartName(split.Index, format) + TemporarySuffix);
                        file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
                        hashing = new HashingStream(file);
                        part = PartWriter.Create(format, hashing, schema);
                        rows = 0;
                        read = 0;
                        badRows.Clear();
                    }
                    if (batch.EndOfSplit)
                    {
                        await part.CompleteAsync(cancellationToken).ConfigureAwait(false);
                        await part.DisposeAsync().ConfigureAwait(false);
                        part = null;
                        await hashing!.FlushAsync(cancellationToken).ConfigureAwait(false);
                        file!.Flush(flushToDisk: true);
                        var bytes = file.Length;
                        await file.DisposeAsync().ConfigureAwait(false);
                        file = null;
                        var name = PartName(split!.Index, format);
                        File.Move(temporary!, Path.Combine(output, name), overwrite: true);
                        temporary = null;
                        manifest.QuarantineBytes = AppendQuarantine(split, badRows);
                        manifest.Splits.Add(new CommittedSplit(split.Index, split.Path, split.IndexInFile, split.FileSize, split.FileModified, rows, badRows.Count, name,
                            bytes, hashing.Checksum));
                        manifest.Complete = manifest.Splits.Count == manifest.PlannedSplits;
                        manifest.Save(output);
                        owner.Committed(split, 0, 0);
                        earlierBad += badRows.Count;
                        earlierRead += read;
                        continue;
                    }
                    await part.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
                    rows += batch.Count;
                    read += batch.RowsRead;
                    badRows.AddRange(batch.Bad);
                    owner.Scored(batch.Count, batch.Bad.Count);
                    owner.Read(batch.Split, read);
                    if (batch.Count > 0)
                    {
                        _versions.Add(batch.ModelVersion);
                    }
                    if (limit.Exceeded(earlierBad + badRows.Count, earlierRead + read))
                    {
                        // The split is not committed, so a resume redoes it; its bad rows are written (past the committed
                        // length, which a resume cuts back to) so that the user can see what stopped the run.
                        AppendQuarantine(split!, badRows);
                        throw new TooManyBadRowsException(
                            $"{earlierBad + badRows.Count} bad rows of {earlierRead + read} read exceed --max-bad-rows {limit}; they are in {quarantine}. What was committed before stays (--resume continues)",
                            owner.Summary(manifest, output, quarantine, 0, 0, batchSize, _versions, []));
                    }
                }
            }
            finally
            {
                if (part is not null)
                {
                    await part.DisposeAsync().ConfigureAwait(false);
                }
                if (file is not null)
                {
                    await file.DisposeAsync().ConfigureAwait(false);
                }
                if (temporary is not null && File.Exists(temporary))
                {
                    File.Delete(temporary);
                }
            }
        }

        // Appends the split's refused rows to the quarantine file, flushed to disk; returns the file's length after them.
        private long AppendQuarantine(InputSplit split, List<BadRow> bad)
        {
            using var file = new FileStream(quarantine, FileMode.Append, FileAccess.Write, FileShare.Read, 1 << 16);
            if (bad.Count > 0)
            {
                var before = InputSplits.RowsBefore(split);
                using (var json = new Utf8JsonWriter(file))
                {
                    foreach (var row in bad)
                    {
                        json.Reset(file);
                        json.WriteStartObject();
                        json.WriteString("file", split.Path);
                        json.WriteNumber("row", before + row.RowInSplit);
                        json.WriteString("reason", row.Reason);
                        json.WriteStartObject("raw");
                        foreach (var (name, value) in row.Values)
                        {
                            if (value is null)
                            {
                                json.WriteNull(name);
                            }
                            else
                            {
                                json.WriteString(name, value);
                            }
                        }
                        json.WriteEndObject();
                        json.WriteEndObject();
                        json.Flush();
                        file.WriteByte((byte)'\n');
                    }
                }
                file.Flush(flushToDisk: true);
            }
            return file.Length;
        }
    }
}
