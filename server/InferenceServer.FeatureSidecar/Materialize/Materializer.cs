using System.Diagnostics;
using System.Globalization;
using InferenceServer.FeatureSidecar.Stores;
using Spectre.Console;

namespace InferenceServer.FeatureSidecar.Materialize;

/// <summary>
/// Loads an offline file into the online store: reads the view's entity key and store field columns, writes batches
/// while the next batch is being read (one batch in flight), shows a progress bar, and ends with a rows/s figure. A
/// bad row is named (<c>file:line: field: reason</c>) and skipped, never the end of the run.
/// </summary>
internal sealed class Materializer(MaterializeSettings settings, TextWriter output, TextWriter error, TimeProvider time)
{
    // Enough bad rows to see the pattern; the rest are counted.
    private const int BadRowsShown = 20;

    private long _loaded;
    private long _skipped;

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var view = settings.View;
        var keyCount = view.EntityKeys.Count;
        string[] columns = [.. view.EntityKeys, .. view.StoreFields];
        string[] fields = [.. view.StoreFields];
        await using var source = await RowSources.OpenAsync(settings.From, columns, cancellationToken).ConfigureAwait(false);
        await using var store = await OnlineStores.OpenToWriteAsync(settings.Store, time).ConfigureAwait(false);
        var started = Stopwatch.GetTimestamp();

        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                // Descriptions are Spectre markup: a path or address with brackets must not be read as a style.
                var label = Markup.Escape($"{view.Name} -> {settings.Store}");
                var progress = context.AddTask(label, maxValue: 1);
                Task? writing = null;
                var batch = new EntityBatch(fields);
                var entity = new string[keyCount];
                while (true)
                {
                    var cells = new string?[columns.Length];
                    if (!await source.ReadAsync(cells, cancellationToken).ConfigureAwait(false))
                    {
                        break;
                    }
                    if (Problem(source, cells, keyCount) is { } problem)
                    {
                        Skip(problem);
                        continue;
                    }
                    for (var k = 0; k < keyCount; k++)
                    {
                        entity[k] = cells[k]!;
                    }
                    batch.Add(view.StoreKey(entity), cells[keyCount..]);
                    if (batch.Count >= settings.BatchSize)
                    {
                        writing = await WriteAsync(store, batch, writing, cancellationToken).ConfigureAwait(false);
                        batch = new EntityBatch(fields);
                        progress.Value = source.Progress;
                        progress.Description = $"{label}: {_loaded.ToString("N0", CultureInfo.InvariantCulture)} rows";
                    }
                }
                writing = await WriteAsync(store, batch, writing, cancellationToken).ConfigureAwait(false);
                if (writing is not null)
                {
                    await writing.ConfigureAwait(false);
                }
                await store.FlushAsync(cancellationToken).ConfigureAwait(false);
                progress.Value = 1;
                progress.Description = $"{label}: {_loaded.ToString("N0", CultureInfo.InvariantCulture)} rows";
            }).ConfigureAwait(false);

        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (_skipped > BadRowsShown)
        {
            await error.WriteLineAsync($"... and {_skipped - BadRowsShown} more bad rows").ConfigureAwait(false);
        }
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"materialized {_loaded} rows of view {view.Name} from {settings.From} into {settings.Store} in {seconds:F2} s ({(seconds > 0 ? _loaded / seconds : 0):F0} rows/s); {_skipped} bad rows skipped")).ConfigureAwait(false);
        return 0;
    }

    /// <summary>Starts writing <paramref name="batch"/> once the previous write is done; returns the write in flight.</summary>
    private async Task<Task?> WriteAsync(IOnlineStore store, EntityBatch batch, Task? previous, CancellationToken cancellationToken)
    {
        if (previous is not null)
        {
            await previous.ConfigureAwait(false);
        }
        if (batch.Count == 0)
        {
            return null;
        }
        _loaded += batch.Count;
        var storedAt = time.GetUtcNow().ToUnixTimeMilliseconds();
        return store.WriteAsync(batch, storedAt, settings.Ttl, cancellationToken);
    }

    private string? Problem(IRowSource source, string?[] cells, int keyCount)
    {
        if (source.RowProblem is { } rowProblem)
        {
            return $"{source.Where}: {rowProblem}";
        }
        for (var k = 0; k < keyCount; k++)
        {
            if (cells[k] is null)
            {
                return $"{source.Where}: {settings.View.EntityKeys[k]}: the entity key is empty";
            }
        }
        return null;
    }

    private void Skip(string problem)
    {
        _skipped++;
        if (_skipped <= BadRowsShown)
        {
            error.WriteLine(problem);
        }
    }
}
