using System.Globalization;
using System.Text.Json;
using InferenceServer.Cli;
using InferenceServer.Core.Drift;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Lifecycle;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Routing;
using InferenceServer.Core.Scoring;
using InferenceServer.Core.Serving;
using Microsoft.Extensions.Logging.Console;
using Spectre.Console;

namespace InferenceServer.Hosting;

/// <summary>
/// <c>score</c>: the serving core without any transport (<see cref="InferenceCoreServices.AddInferenceCore"/>), with only
/// the named model loaded, running a <see cref="ScorePipeline"/>; a progress bar on a terminal, JSON lines with
/// <c>--json</c>, and a summary at the end, with the drift report of the rows scored when the model has a training
/// profile (<see cref="ScoreDrift"/>). Exit codes: 0 done, 1 failed, 3 too many bad rows.
/// </summary>
internal static class ScoreHost
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(500);

    /// <summary>Runs <paramref name="request"/>; returns the exit code.</summary>
    public static async Task<int> RunAsync(ScoreRequest request, TextWriter output, TextWriter error, bool interactive, CancellationToken cancellationToken)
    {
        try
        {
            await using var services = BuildServices(request);
            var frontDoor = services.GetRequiredService<InferenceFrontDoor>();
            await frontDoor.StartAsync(cancellationToken).ConfigureAwait(false);
            if (!frontDoor.IsModelReady(request.Options.Model, request.Options.ModelVersion, default))
            {
                var failures = frontDoor.StartupFailures();
                await error.WriteLineAsync($"inference-server score: model '{request.Options.Model}' did not load from {request.ModelRepository}"
                    + (failures.Count > 0 ? ": " + string.Join("; ", failures) : "")).ConfigureAwait(false);
                return 1;
            }
            await TuneForThroughputAsync(frontDoor, request, cancellationToken).ConfigureAwait(false);
            var drift = request.Drift ? await DriftOfAsync(frontDoor, request, error).ConfigureAwait(false) : null;
            var pipeline = new ScorePipeline(frontDoor, request.Options) { Drift = drift };
            if (pipeline.MemoryLimitNote is { } note)
            {
                await error.WriteLineAsync($"inference-server score: note: {note}").ConfigureAwait(false);
            }
            var run = pipeline.RunAsync(cancellationToken);
            ScoreSummary summary;
            try
            {
                summary = request.Json
                    ? await ReportJsonAsync(pipeline, run, output).ConfigureAwait(false)
                    : interactive ? await ShowProgressAsync(pipeline, run).ConfigureAwait(false) : await run.ConfigureAwait(false);
            }
            catch (TooManyBadRowsException e)
            {
                await WriteSummaryAsync(e.Summary, request.Json, output, null).ConfigureAwait(false);
                await error.WriteLineAsync($"inference-server score: {e.Message}").ConfigureAwait(false);
                return ScoreCommand.TooManyBadRows;
            }
            // A resumed run that found every split committed scored nothing of its own: no report of no rows.
            await WriteSummaryAsync(summary, request.Json, output, summary.Rows > 0 ? drift?.Report() : null).ConfigureAwait(false);
            if (request.CompareWith is { } server)
            {
                var differences = await ScoreComparison.RunAsync(frontDoor, request, server, output, error, cancellationToken).ConfigureAwait(false);
                return differences == 0 ? 0 : 1;
            }
            return 0;
        }
        catch (ScoreException e)
        {
            await error.WriteLineAsync($"inference-server score: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        catch (OutOfMemoryException e)
        {
            // Outside the pipeline's stages (which say which one): loading the model, planning the input, the summary.
            await error.WriteLineAsync($"inference-server score: {ScoreException.OutOfMemory("preparing or ending the run", request.Options.MemoryLimit, e).Message}").ConfigureAwait(false);
            return 1;
        }
        catch (ArgumentException e)
        {
            // A setting from the environment or appsettings that its options refuse; the message names it.
            await error.WriteLineAsync($"inference-server score: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync("inference-server score: stopped; what was committed stays, --resume continues").ConfigureAwait(false);
            return 1;
        }
    }

    // A batch job wants throughput, a server latency: the model is reloaded for this run only (a load override, its
    // files untouched) with --instances CPU instances of --intra-op-threads threads each. By default one single-threaded
    // instance per core: the pipeline keeps them all busy, and no ONNX Runtime thread spins waiting for a share of a
    // small batch (income: about a fifth less CPU per row than two threads on one instance). A route keeps its models'.
    private static async Task TuneForThroughputAsync(InferenceFrontDoor frontDoor, ScoreRequest request, CancellationToken cancellationToken)
    {
        if (request.Instances is null && request.IntraOpThreads is null)
        {
            return;
        }
        ModelConfig config;
        try
        {
            config = frontDoor.ModelConfig(request.Options.Model, request.Options.ModelVersion, default);
        }
        catch (InferenceException)
        {
            return;
        }
        var tuned = config.Clone();
        if (request.Instances is { } instances)
        {
            foreach (var group in tuned.InstanceGroup)
            {
                if (group.Kind != ModelInstanceGroup.Types.Kind.Gpu)
                {
                    group.Count = instances;
                }
            }
        }
        if (request.IntraOpThreads is { } threads)
        {
            tuned.Parameters["intra_op_thread_count"] = new ModelParameter { StringValue = threads.ToString(CultureInfo.InvariantCulture) };
        }
        if (tuned.Equals(config))
        {
            return;
        }
        // Only the fields set (protobuf's JSON mapping): the load reads them as a repository-API config.
        var json = Google.Protobuf.JsonFormatter.Default.Format(tuned);
        await frontDoor.LoadModelAsync(request.Options.Model, new ModelLoadOverrides(json, null), cancellationToken).ConfigureAwait(false);
    }

    // Only the named model is loaded; the queue never sheds (the pipeline bounds what it sends), and warnings and
    // errors of the core go to stderr, so stdout stays the progress and the summary.
    private static ServiceProvider BuildServices(ScoreRequest request)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["Server:ModelRepository:0"] = request.ModelRepository,
            ["Server:ModelControlMode"] = nameof(ModelControlMode.Explicit),
            ["Server:LoadModels:0"] = request.Options.Model,
            ["Server:MaxQueueBatches"] = "0",
            ["Server:MaxQueueWaitMilliseconds"] = "0",
            // The server's sampled live window would only sample score's own requests; the file's report is built
            // from every row instead (ScoreDrift).
            ["Drift:Enabled"] = "false",
        };
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "config", "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .AddInMemoryCollection(settings)
            .Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging(logging =>
        {
            logging.SetMinimumLevel(LogLevel.Warning);
            logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            logging.AddSimpleConsole(o => o.SingleLine = true);
        });
        services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        services.AddInferenceCore(configuration);
        return services.BuildServiceProvider();
    }

    // The file's drift report, when the model has a training profile (the version folder's, else the model folder's, as
    // the server loads it); a profile that cannot be used is a warning, not a failed run: the predictions do not need it.
    private static async Task<ScoreDrift?> DriftOfAsync(InferenceFrontDoor frontDoor, ScoreRequest request, TextWriter error)
    {
        var options = request.Options;
        ModelTarget target;
        try
        {
            target = frontDoor.Describe(options.Model, options.ModelVersion, default);
        }
        catch (InferenceException)
        {
            // The run reports what is wrong with the model (its first step is the same question).
            return null;
        }
        var modelFolder = Path.Combine(request.ModelRepository, options.Model);
        try
        {
            var batch = DriftBatch.ForModel(modelFolder, Path.Combine(modelFolder, target.Version), frontDoor.FindFeatureView(options.Model));
            return batch is null ? null : new ScoreDrift(batch, options.Model, target.Version, options.Input, target.Config.MaxBatchSize > 0);
        }
        catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"inference-server score: warning: no drift report: the training profile of model '{options.Model}' version {target.Version} cannot be used: {e.Message}").ConfigureAwait(false);
            return null;
        }
    }

    private static async Task<ScoreSummary> ShowProgressAsync(ScorePipeline pipeline, Task<ScoreSummary> run)
    {
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask("scoring", maxValue: 1000);
                while (true)
                {
                    var progress = pipeline.Progress;
                    task.Value = progress.Fraction * 1000;
                    task.Description = $"{progress.Rows:N0} rows  {progress.RowsPerSecond:N0} rows/s  {progress.BadRows:N0} bad  splits {progress.SplitsDone}/{progress.SplitsTotal}";
                    if (run.IsCompleted)
                    {
                        if (run.IsCompletedSuccessfully)
                        {
                            task.Value = 1000;
                        }
                        task.StopTask();
                        break;
                    }
                    await Task.WhenAny(run, Task.Delay(Tick)).ConfigureAwait(false);
                }
            }).ConfigureAwait(false);
        return await run.ConfigureAwait(false);
    }

    private static async Task<ScoreSummary> ReportJsonAsync(ScorePipeline pipeline, Task<ScoreSummary> run, TextWriter output)
    {
        while (!run.IsCompleted)
        {
            await Task.WhenAny(run, Task.Delay(Tick)).ConfigureAwait(false);
            if (run.IsCompleted)
            {
                break;
            }
            var progress = pipeline.Progress;
            var line = JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["event"] = "progress",
                ["rows"] = progress.Rows,
                ["bad_rows"] = progress.BadRows,
                ["rows_per_second"] = Math.Round(progress.RowsPerSecond, 1),
                ["fraction"] = Math.Round(progress.Fraction, 4),
                ["eta_seconds"] = progress.Remaining is { } eta ? Math.Round(eta.TotalSeconds, 1) : null,
                ["splits_done"] = progress.SplitsDone,
                ["splits_total"] = progress.SplitsTotal,
                ["elapsed_seconds"] = Math.Round(progress.Elapsed.TotalSeconds, 3),
            });
            await output.WriteLineAsync(line).ConfigureAwait(false);
            await output.FlushAsync().ConfigureAwait(false);
        }
        return await run.ConfigureAwait(false);
    }

    private static async Task WriteSummaryAsync(ScoreSummary summary, bool json, TextWriter output, DriftReport? drift)
    {
        if (json)
        {
            await output.WriteLineAsync(JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["event"] = "summary",
                ["model"] = summary.Model,
                ["model_versions"] = summary.ModelVersions,
                ["rows"] = summary.Rows,
                ["bad_rows"] = summary.BadRows,
                ["total_rows"] = summary.TotalRows,
                ["total_bad_rows"] = summary.TotalBadRows,
                ["rows_per_second"] = Math.Round(summary.RowsPerSecond, 1),
                ["elapsed_seconds"] = Math.Round(summary.Elapsed.TotalSeconds, 3),
                ["splits_scored"] = summary.SplitsScored,
                ["splits_resumed"] = summary.SplitsResumed,
                ["splits_total"] = summary.SplitsTotal,
                ["shard"] = summary.Shard,
                ["batch_size"] = summary.BatchSize,
                ["complete"] = summary.Complete,
                ["output"] = summary.Output,
                ["quarantine"] = summary.Quarantine,
                ["missing_columns"] = summary.MissingColumns,
                ["drift"] = drift is null ? null : System.Text.Json.Nodes.JsonNode.Parse(drift.ToJson()),
            })).ConfigureAwait(false);
            await output.FlushAsync().ConfigureAwait(false);
            return;
        }
        var versions = summary.ModelVersions.Length == 0 ? "" : $" (version {summary.ModelVersions})";
        await output.WriteLineAsync(
            $"Scored {summary.Rows:N0} rows with {summary.Model}{versions} in {summary.Elapsed.TotalSeconds:0.0#} s ({summary.RowsPerSecond:N0} rows/s, batches of {summary.BatchSize}); "
            + $"{summary.BadRows:N0} bad rows{(summary.TotalBadRows > 0 ? $" (all runs: {summary.TotalBadRows:N0}, in {summary.Quarantine})" : "")}.").ConfigureAwait(false);
        await output.WriteLineAsync(
            $"Output: {summary.Output}: {summary.TotalRows:N0} rows, splits {summary.SplitsScored} scored + {summary.SplitsResumed} resumed of {summary.SplitsTotal} (shard {summary.Shard}), "
            + (summary.Complete ? "complete." : "not complete: --resume continues.")).ConfigureAwait(false);
        if (summary.MissingColumns.Count > 0)
        {
            await output.WriteLineAsync($"Note: the input has no column {string.Join(", ", summary.MissingColumns.Select(c => $"'{c}'"))}; every row took the feature view's default for it.").ConfigureAwait(false);
        }
        if (drift is not null)
        {
            await output.WriteAsync(drift.ToText()).ConfigureAwait(false);
            if (summary.SplitsResumed > 0)
            {
                await output.WriteLineAsync("Note: the drift report covers the rows this run scored, not those of the splits resumed.").ConfigureAwait(false);
            }
        }
        await output.FlushAsync().ConfigureAwait(false);
    }
}
