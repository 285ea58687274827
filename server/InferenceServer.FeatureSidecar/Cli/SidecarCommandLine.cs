using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using InferenceServer.FeatureSidecar.Bench;
using InferenceServer.FeatureSidecar.Materialize;

namespace InferenceServer.FeatureSidecar.Cli;

/// <summary>
/// The <c>feature-sidecar</c> command line on System.CommandLine: <c>serve</c>, <c>materialize</c> and <c>bench</c>. A usage error is
/// one line on stderr naming the flag and what it takes, and exit code 2.
/// </summary>
internal static class SidecarCommandLine
{
    public const int UsageError = 2;
    private const string ProgramName = "feature-sidecar";

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("The feature sidecar: serves online feature lookups to inference-server over a Unix socket, and loads offline files into the online store.")
        {
            ServeCommand(error),
            MaterializeCommand(output, error),
            BenchCommand(output, error),
        };
        var invocation = new InvocationConfiguration
        {
            Output = output,
            Error = error,
            // serve handles SIGTERM and Ctrl+C itself: it answers the lookups in flight, then removes its socket.
            ProcessTerminationTimeout = null,
        };
        var result = root.Parse(args.Length == 0 ? ["--help"] : args);
        if (result.Errors.Count > 0)
        {
            await error.WriteLineAsync($"{ProgramName}: {result.Errors[0].Message}").ConfigureAwait(false);
            return UsageError;
        }
        var exit = await result.InvokeAsync(invocation).ConfigureAwait(false);
        return args.Length == 0 ? UsageError : exit;
    }

    private static Command ServeCommand(TextWriter error)
    {
        var socket = new Option<string>("--socket") { Description = "The Unix socket to listen on (inference-server's --feature-sidecar).", Required = true, HelpName = "PATH" };
        var store = new StoreFlags();
        var metricsPort = IntegerOption("--metrics-port", "Serve Prometheus metrics on this port at /metrics (off when not given).", 1, 65535, null);
        var maxInFlight = IntegerOption("--max-in-flight", "The most lookups one connection may have in flight; beyond it a lookup is answered 'overloaded' at once.", 1, 1_000_000, 1024);
        var command = new Command("serve", "Serves lookups on a Unix socket from Redis or the embedded file store (reloaded when its file changes).") { socket, metricsPort, maxInFlight };
        store.AddTo(command);
        command.SetAction(async (result, cancellationToken) =>
        {
            if (store.Resolve(result, Environment.GetEnvironmentVariable, out var problem) is not { } address)
            {
                await error.WriteLineAsync($"{ProgramName}: {problem}").ConfigureAwait(false);
                return 1;
            }
            return await ServeRunner.RunAsync(new ServeSettings(
                Path.GetFullPath(result.GetValue(socket)!),
                address,
                result.GetValue(metricsPort) is { } port ? int.Parse(port, CultureInfo.InvariantCulture) : null,
                int.Parse(result.GetValue(maxInFlight)!, CultureInfo.InvariantCulture)), error, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    private static Command MaterializeCommand(TextWriter output, TextWriter error)
    {
        var view = new Option<string>("--view") { Description = "The feature view's name (its folder in the model repository).", Required = true, HelpName = "NAME" };
        var from = new Option<string>("--from") { Description = "The offline file: .csv (with a header row) or .parquet.", Required = true, HelpName = "FILE" };
        var store = new StoreFlags();
        var repository = new Option<string>("--model-repository") { Description = "The model repository whose NAME/features.pbtxt names the entity key columns, the store fields and the key pattern (the server's own view).", HelpName = "DIR" };
        var keyPattern = new Option<string>("--key-pattern") { Description = "Without --model-repository: the store key pattern, {name} for each entity key column (e.g. income:{id}).", HelpName = "PATTERN" };
        var fields = new Option<string>("--fields") { Description = "Without --model-repository: the store fields (columns of the file), separated by commas.", HelpName = "A,B,..." };
        var ttl = new Option<string>("--ttl") { Description = "Expire each entity this long after the load (Redis EXPIRE; the file store drops it). Default: the view's store TTL, if any.", HelpName = "DURATION" };
        ttl.Validators.Add(r => Check(r, t => Durations.TryParse(t) is null ? Durations.Expected : null));
        var batchSize = IntegerOption("--batch-size", "Rows per pipelined batch of writes.", 1, 1_000_000, 2000);
        var command = new Command("materialize", "Loads a CSV or Parquet file into the online store, batched and pipelined.") { view, from, repository, keyPattern, fields, ttl, batchSize };
        store.AddTo(command);
        command.Validators.Add(result =>
        {
            var pattern = result.GetValue(keyPattern);
            var names = result.GetValue(fields);
            if (result.GetValue(repository) is not null)
            {
                if (pattern is not null || names is not null)
                {
                    result.AddError("--key-pattern and --fields are for a view outside a model repository: give them or --model-repository, not both");
                }
            }
            else if (pattern is null || names is null)
            {
                result.AddError("the view comes from --model-repository DIR (DIR/NAME/features.pbtxt), or from both --key-pattern and --fields");
            }
            else if (KeyPatternView.TryCreate(result.GetValue(view) ?? "", pattern, names, out var problem) is null)
            {
                result.AddError(problem!);
            }
        });
        command.SetAction(async (result, cancellationToken) =>
        {
            if (store.Resolve(result, Environment.GetEnvironmentVariable, out var problem) is not { } address)
            {
                await error.WriteLineAsync($"{ProgramName}: {problem}").ConfigureAwait(false);
                return 1;
            }
            var name = result.GetValue(view)!;
            IMaterializeView source;
            TimeSpan? expiry = result.GetValue(ttl) is { } duration ? Durations.TryParse(duration) : null;
            if (result.GetValue(repository) is { } folder)
            {
                RepositoryView declared;
                try
                {
                    declared = RepositoryView.Read(Path.GetFullPath(folder), name);
                }
                catch (MaterializeException e)
                {
                    await error.WriteLineAsync($"{ProgramName}: {e.Message}").ConfigureAwait(false);
                    return 1;
                }
                source = declared;
                expiry ??= declared.Ttl > TimeSpan.Zero ? declared.Ttl : null;
            }
            else
            {
                source = KeyPatternView.TryCreate(name, result.GetValue(keyPattern)!, result.GetValue(fields)!, out _)!;
            }
            var settings = new MaterializeSettings(
                source,
                Path.GetFullPath(result.GetValue(from)!),
                address,
                expiry,
                int.Parse(result.GetValue(batchSize)!, CultureInfo.InvariantCulture));
            return await MaterializeRunner.RunAsync(settings, output, error, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    private static Command BenchCommand(TextWriter output, TextWriter error)
    {
        var socket = new Option<string>("--socket") { Description = "The sidecar's Unix socket.", Required = true, HelpName = "PATH" };
        var view = new Option<string>("--view") { Description = "The view the lookups name (for the sidecar's metrics).", DefaultValueFactory = _ => "bench", HelpName = "NAME" };
        var fields = new Option<string>("--fields") { Description = "The fields each lookup asks for, separated by commas.", Required = true, HelpName = "A,B,..." };
        var keys = new Option<string>("--keys") { Description = "The store keys each lookup asks for, separated by commas.", Required = true, HelpName = "K1,K2,..." };
        var concurrency = IntegerOption("--concurrency", "Lookups in flight at once (each worker waits for its answer before the next).", 1, 100_000, 128);
        var connections = IntegerOption("--connections", "Connections the lookups are multiplexed over.", 1, 1024, 2);
        var duration = new Option<string>("--duration") { Description = "How long to run.", DefaultValueFactory = _ => "10s", HelpName = "DURATION" };
        duration.Validators.Add(r => Check(r, t => Durations.TryParse(t) is null ? Durations.Expected : null));
        var timeout = IntegerOption("--timeout-ms", "Each lookup's deadline, in milliseconds.", 1, 60_000, 1000);
        var command = new Command("bench", "Measures a running sidecar: lookups/s and latency at a given concurrency.") { socket, view, fields, keys, concurrency, connections, duration, timeout };
        command.SetAction((result, cancellationToken) => BenchRunner.RunAsync(new BenchSettings(
            Path.GetFullPath(result.GetValue(socket)!),
            result.GetValue(view)!,
            result.GetValue(fields)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
            result.GetValue(keys)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
            int.Parse(result.GetValue(concurrency)!, CultureInfo.InvariantCulture),
            int.Parse(result.GetValue(connections)!, CultureInfo.InvariantCulture),
            Durations.TryParse(result.GetValue(duration)!)!.Value,
            uint.Parse(result.GetValue(timeout)!, CultureInfo.InvariantCulture)), output, error, cancellationToken));
        return command;
    }

    private static Option<string> IntegerOption(string name, string description, int min, int max, int? defaultValue)
    {
        var option = new Option<string>(name) { Description = description, HelpName = "N" };
        if (defaultValue is { } value)
        {
            option.DefaultValueFactory = _ => value.ToString(CultureInfo.InvariantCulture);
        }
        option.Validators.Add(r => Check(r, t => int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? null
            : $"a whole number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}"));
        return option;
    }

    // The problem with a flag's value, as "--flag: 'value' is not valid; expected ...".
    private static void Check(OptionResult result, Func<string, string?> problem)
    {
        foreach (var token in result.Tokens)
        {
            if (problem(token.Value) is { } expected)
            {
                var name = result.Option.Name;
                result.AddError($"{name}: '{token.Value}' is not valid; expected {expected}");
                return;
            }
        }
    }
}
