using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// The stages of one <see cref="ScorePipeline"/> run over the splits not yet done: the reader (up to two splits at once,
/// admitted against the run's <see cref="ReadBudget"/> by what they hold decoded, passed on in split order), the
/// dispatcher (each batch's encode and inference started on the thread pool, the tasks passed on in order) and the
/// writer (awaits them in order; writes a split's part, then commits it). Bounded channels between them keep the
/// batches in flight within the memory limit. A stage that fails stops the others.
/// </summary>
internal sealed class ScoreStages(ScorePipeline owner, BatchEncoder encoder, OutputSchema schema, ScoreManifest manifest, string output, string quarantine,
    int batchSize, IReadOnlyList<string> keys)
{
    // Splits read at once, and the batches each may hold ready (on top of the read-ahead channel).
    private const int ReadLanes = 2;
    private const int LaneBatches = 4;

    // The scoring stage, as an out-of-memory error names it: the stage's and a batch's own, which the writer meets later.
    private const string Scoring = "encoding and scoring batches";

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
            Stage("reading and decoding the input", () => ReadAsync(pending, reads.Writer, stop.Token), e => reads.Writer.TryComplete(e), stop),
            Stage(Scoring, () => DispatchAsync(reads.Reader, scored.Writer, stop.Token), e => scored.Writer.TryComplete(e), stop),
            Stage("writing the output", () => WriteAsync(scored.Reader, stop.Token), _ => { }, stop),
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
    // A row's cost is estimated: its cells as read, its encoded input (a few floats per read column), its outputs and keys.
    private (int ReadAhead, int InFlight) Buffers()
    {
        var rowBytes = _columns.Length * 48L + encoder.Columns.Count * 128L + schema.Predictions.Count * 16L + keys.Count * 48L;
        var batches = ScorePipeline.BatchBytes(owner.MemoryLimit) / Math.Max(1, batchSize * rowBytes);
        var total = (int)Math.Clamp(batches, 4, 64);
        return (Math.Max(2, total / 4), Math.Max(2, total - total / 4));
    }

    // A stage that fails closes its output with the failure and stops the others. Running out of memory is said in the
    // user's words, with what to change: it is the one failure a setting of the run can cure.
    private async Task Stage(string doing, Func<Task> body, Action<Exception?> complete, CancellationTokenSource stop)
    {
        try
        {
            await body().ConfigureAwait(false);
            complete(null);
        }
        catch (OutOfMemoryException e)
        {
            ParquetRecordReader.LogOutOfMemory(e);
            var failure = ScoreException.OutOfMemory(doing, owner.MemoryLimit, e);
            complete(failure);
            await stop.CancelAsync().ConfigureAwait(false);
            throw failure;
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
    // serial step), each into its own small bounded channel; their batches are passed on strictly in split order. A
    // lane reads once the budget admits what its split holds decoded. Its request is made here, as the lane starts,
    // and the budget admits in request order: the oldest lane, whose batches are passed on first, never waits on a
    // younger one (which would wait, its channel full, for the oldest to be passed on).
    private async Task ReadAsync(IReadOnlyList<InputSplit> pending, ChannelWriter<(InputSplit, RecordBatch?)> reads, CancellationToken cancellationToken)
    {
        var lanes = new Queue<(InputSplit Split, Channel<RecordBatch> Batches, Task Reading)>();
        var next = 0;
        // The lanes' own stop: when this stage fails (a lane's split did), the lanes still reading are stopped here,
        // before they are waited for below. The run's stop comes only once this stage has ended, and a lane with a
        // full channel that nobody reads any more would wait for it forever (a run stalled so, out of memory).
        using var lanesStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            while (next < pending.Count || lanes.Count > 0)
            {
                while (lanes.Count < ReadLanes && next < pending.Count)
                {
                    var split = pending[next++];
                    var batches = Channel.CreateBounded<RecordBatch>(new BoundedChannelOptions(LaneBatches) { SingleReader = true, SingleWriter = true });
                    lanes.Enqueue((split, batches, await StartLaneAsync(split, batches.Writer, lanesStop.Token).ConfigureAwait(false)));
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
            // A failure leaves lanes reading (or waiting for the budget): they stop on the cancellation, give back what
            // they hold, and their batches go back to the pool. After a success there are none.
            await lanesStop.CancelAsync().ConfigureAwait(false);
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

    // Opens the split and queues its request for the budget; a split that cannot be opened fails its lane, reported
    // when the lane's turn comes, so the splits before it are still committed.
    private async Task<Task> StartLaneAsync(InputSplit split, ChannelWriter<RecordBatch> batches, CancellationToken cancellationToken)
    {
        RecordReader reader;
        try
        {
            reader = await RecordReader.OpenAsync(split, _columns, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            batches.TryComplete(e);
            return Task.FromException(e);
        }
        var held = reader.DecodedBytes;
        // What this split's pages and columns hold comes back to the pools when it is read; they keep it for the next.
        ColumnPoolLimit.KeepAtLeast(Math.Max(owner.ReadBudget.Bytes, held));
        var admitted = owner.ReadBudget.AcquireAsync(held, cancellationToken);
        // Not cancelled before it starts: the lane must run to give back the reader and the budget.
        return Task.Run(() => ReadSplitAsync(reader, held, admitted, batches, cancellationToken), CancellationToken.None);
    }

    private async Task ReadSplitAsync(RecordReader reader, long held, Task admitted, ChannelWriter<RecordBatch> batches, CancellationToken cancellationToken)
    {
        try
        {
            try
            {
                await admitted.ConfigureAwait(false);
            }
            catch
            {
                await reader.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            try
            {
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
            }
            finally
            {
                // The decoded columns go back to the pool before the next split is admitted in their place; the budget
                // is given back even when that fails, or the splits after it would wait for it forever.
                try
                {
                    await reader.DisposeAsync().ConfigureAwait(false);
                }
                finally
                {
                    owner.ReadBudget.Release(held);
                }
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
                : Task.Run(() => ScoreOrSayAsync(split, batch, cancellationToken), cancellationToken);
            await scored.WriteAsync(task, cancellationToken).ConfigureAwait(false);
        }
    }

    // A batch that runs out of memory fails where it did, not where the writer meets it.
    private async Task<ScoredBatch> ScoreOrSayAsync(InputSplit split, RecordBatch batch, CancellationToken cancellationToken)
    {
        try
        {
            return await ScoreAsync(split, batch, cancellationToken).ConfigureAwait(false);
        }
        catch (OutOfMemoryException e)
        {
            ParquetRecordReader.LogOutOfMemory(e);
            throw ScoreException.OutOfMemory(Scoring, owner.MemoryLimit, e);
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
            inputs = encoder.Encode(batch, good, bad, owner.Time.GetUtcNow());
            owner.Drift?.Encoded(batch, good, inputs);
            keyValues = new string?[keys.Count][];
            var keyStart = encoder.Columns.Count;
            for (var k = 0; k < keys.Count; k++)
            {
                var values = new string?[good.Count];
                for (var i = 0; i < good.Count; i++)
                {
                    values[i] = batch.Cells.CellText(keyStart + k, good[i]);
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
                    raw[c] = new(_columns[c], batch.Cells.CellText(c, row));
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
        using var request = new InferenceRequest { ModelName = owner.Options.Model, ModelVersion = owner.Options.ModelVersion };
        request.Inputs.AddRange(inputs);
        request.RequestedOutputs.AddRange(schema.Outputs);
        InferenceResponse response;
        try
        {
            var target = owner.FrontDoor.Resolve(owner.Options.Model, owner.Options.ModelVersion, default);
            response = await owner.FrontDoor.InferAsync(target, request, default, cancellationToken).ConfigureAwait(false);
        }
        catch (InferenceException e)
        {
            throw new ScoreException($"model '{owner.Options.Model}' failed on rows of {split}: {e.Message}", e);
        }
        var outputs = response.Outputs;
        foreach (var tensor in outputs)
        {
            if (tensor.Shape.Length == 0 || tensor.Shape[0] != good.Count)
            {
                response.Dispose();
                throw new ScoreException($"model '{owner.Options.Model}' answered {good.Count} rows with output '{tensor.Name}' of shape [{string.Join(", ", tensor.Shape)}]: batch scoring needs one output row per input row");
            }
        }
        owner.Drift?.Answered(outputs);
        return new ScoredBatch { Split = split, Count = good.Count, Keys = keyValues, Outputs = outputs, ModelVersion = response.ModelVersion, Bad = badRows, RowsRead = rowsRead };
    }

    private async Task WriteAsync(ChannelReader<Task<ScoredBatch>> scored, CancellationToken cancellationToken)
    {
        var format = owner.Options.OutputFormat;
        InputSplit? split = null;
        FileStream? file = null;
        HashingStream? hashing = null;
        PartWriter? part = null;
        string? temporary = null;
        var badRows = new List<BadRow>();
        long rows = 0;
        long read = 0;
        var limit = owner.Options.MaxBadRows;
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
                    temporary = Path.Combine(output, ScorePipeline.PartName(split.Index, format) + ScorePipeline.TemporarySuffix);
                    file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
                    hashing = new HashingStream(file);
                    part = PartWriter.Create(format, hashing, schema, ScorePipeline.WriterBytes(owner.MemoryLimit));
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
                    var name = ScorePipeline.PartName(split!.Index, format);
                    File.Move(temporary!, Path.Combine(output, name), overwrite: true);
                    temporary = null;
                    manifest.QuarantineBytes = AppendQuarantine(split, badRows);
                    manifest.Splits.Add(new CommittedSplit(split.Index, split.Path, split.IndexInFile, split.FileSize, split.FileModified, rows, badRows.Count, name,
                        bytes, hashing.Checksum));
                    manifest.Complete = manifest.Splits.Count == manifest.PlannedSplits;
                    manifest.Save(output);
                    owner.Committed(split, read);
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
