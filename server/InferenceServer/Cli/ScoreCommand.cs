using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using InferenceServer.Core.Scoring;
using static InferenceServer.Cli.CliOptions;

namespace InferenceServer.Cli;

/// <summary>
/// The <c>score</c> verb: scores a Parquet, CSV or JSONL input (a file, a folder or a glob) with one model of a
/// repository and writes the predictions to an output folder, resumably. Each flag's value is checked as it is parsed,
/// with the same one-line errors as <c>serve</c>'s. Exit codes: 0 done, 1 failed, 2 usage, 3 too many bad rows.
/// </summary>
internal sealed class ScoreCommand
{
    /// <summary>The exit code of a run stopped by <c>--max-bad-rows</c>.</summary>
    public const int TooManyBadRows = 3;

    private readonly Option<string> _repository = Text("--model-repository", "DIR", "The model repository (a Triton-style folder) the model is loaded from.");
    private readonly Option<string> _model = Text("--model", "NAME", "The model (or route) to score with; its feature view, when its folder has a features.pbtxt, turns raw records into its inputs.");
    private readonly Option<string> _version = Text("--model-version", "V", "The model version; default: the one a request without a version gets.");
    private readonly Option<string> _input = Text("--input", "FILE|DIR|GLOB", "A .parquet, .csv (with a header) or .jsonl file, a folder of them, or a glob on file names (data/part-*.parquet).");
    private readonly Option<string> _output = Text("--output", "DIR", "The output folder: one part file per input split and _manifest.json.");
    private readonly Option<string> _format = Text("--output-format", "parquet|csv|jsonl", "The part files' format.", "parquet");
    private readonly Option<string> _batchSize = Text("--batch-size", "N", "Rows per inference request, at most the model's max_batch_size.", "max_batch_size");
    private readonly Option<string> _memory = Text("--memory-limit", "SIZE", "What the run may hold (e.g. 256MB, 2GB): half for the splits being read, an eighth for the part writer (a Parquet output's row groups are sized by it), the rest for the batches in flight. Parquet row groups are admitted by their decoded size, estimated from the file's metadata; one whose estimate alone exceeds that half is read alone, and its estimate is then the bound instead. Under a GC heap limit (DOTNET_GCHeapHardLimit, or 75% of a container's memory limit) the run holds at most half of that limit.", "256MB");
    private readonly Option<string> _keys = Text("--key-columns", "A,B", "Input columns copied to each output row; default: the feature view's entity keys the input has.");
    private readonly Option<bool> _resume = new("--resume") { Description = "Continue the run whose manifest is in --output: committed splits are kept, everything else is redone." };
    private readonly Option<string> _shard = Text("--shard", "I/N", "Score only shard I (0-based) of N: a contiguous run of the input's splits (Parquet row groups, CSV/JSONL byte ranges).", "0/1");
    private readonly Option<string> _maxBad = Text("--max-bad-rows", "N|P%", "Stop with exit code 3 once the bad rows exceed N, or P percent of the rows read.", "no limit");
    private readonly Option<string> _quarantine = Text("--quarantine", "FILE", "Where bad rows go (JSONL: file, row, reason, raw values).", "DIR/_quarantine.jsonl");
    private readonly Option<bool> _json = new("--json") { Description = "Progress and the summary as JSON objects, one per line, on stdout." };
    private readonly Option<string> _compare = Text("--compare-with", "URL", "After scoring, send a sample of the input to the server at URL (REST) and report each row whose answer differs.");
    private readonly Option<string> _compareRows = Text("--compare-rows", "N", "How many rows --compare-with sends.", "1000");
    private readonly Option<bool> _noDrift = new("--no-drift") { Description = "Skip the drift report: by default, when the model has a training profile, the summary compares the scored rows with it." };
    // An instance is a whole copy of the model: past a few, a big model costs more memory than the cores give back.
    private static int DefaultInstances => Math.Min(Environment.ProcessorCount, 4);

    private readonly Option<string> _instances = Text("--instances", "N|config",
        "CPU instances of the model for this run (replaces its config's instance_group counts; the files are not changed): batches are scored on them at once. 'config' keeps the config's.",
        "one per core, at most 4");
    private readonly Option<string> _intraOp = Text("--intra-op-threads", "N|config",
        "ONNX Runtime threads within each inference for this run (the model's intra_op_thread_count). One per instance, with an instance per core, spends no CPU on threads waiting for work. 'config' keeps the server's choice.",
        "1");
    private readonly Option<string> _splitSize = Text("--split-size", "SIZE", "The byte range CSV and JSONL inputs are cut into splits at (the unit of commit, resume and sharding).", "32MB");

    /// <summary>Builds the verb; <paramref name="run"/> scores what the command line asks and returns the exit code.</summary>
    public ScoreCommand(Func<ScoreRequest, CancellationToken, Task<int>> run)
    {
        Command = new Command("score",
            "Scores a Parquet, CSV or JSONL input with a model of a repository (no server started) and writes the predictions, with the input's key columns, "
            + "to an output folder, resumably. Exit codes: 0 done, 1 failed, 2 usage error, 3 too many bad rows.");
        foreach (var option in new Option[] { _repository, _model, _version, _input, _output, _format, _batchSize, _memory, _keys, _resume, _shard, _maxBad, _quarantine, _json, _compare, _compareRows, _splitSize, _instances, _intraOp, _noDrift })
        {
            Command.Options.Add(option);
        }
        Check(_format, v => v.ToLowerInvariant() is "parquet" or "csv" or "jsonl" ? null : "parquet, csv or jsonl");
        Check(_batchSize, v => PositiveInt(v) is null ? "a whole number of at least 1" : null);
        Check(_memory, v => ParseSize(v) is >= 1 << 20 ? null : "a size of at least 1MB, such as 256MB or 2GB");
        Check(_splitSize, v => ParseSize(v) is >= 1 ? null : "a size such as 32MB or 1GB");
        Check(_shard, v => ParseShard(v) is null ? "I/N with 0 <= I < N, such as 0/4" : null);
        Check(_maxBad, v => BadRowLimit.Parse(v) is null ? "a count (100) or a percentage (0.5%)" : null);
        Check(_compare, v => Uri.TryCreate(v, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" ? null : "an http:// or https:// address, such as http://localhost:8000");
        Check(_instances, v => v == "config" || PositiveInt(v) is not null ? null : "a whole number of at least 1, or config");
        Check(_intraOp, v => v == "config" || PositiveInt(v) is not null ? null : "a whole number of at least 1, or config");
        Check(_compareRows, v => PositiveInt(v) is null ? "a whole number of at least 1" : null);
        Check(_keys, v => v.Split(',').Any(k => k.Trim().Length == 0) ? "column names separated by commas" : null);
        Command.Validators.Add(result =>
        {
            foreach (var required in new[] { _repository, _model, _input, _output })
            {
                if (result.GetResult(required) is null)
                {
                    result.AddError($"flag '{required.Name}' is required (see inference-server score --help)");
                    return;
                }
            }
        });
        Command.SetAction((result, cancellationToken) => run(Request(result), cancellationToken));
    }

    /// <summary>The verb, to add to the root command.</summary>
    public Command Command { get; }

    /// <summary>The request <paramref name="result"/>'s command line makes (checked already).</summary>
    public ScoreRequest Request(ParseResult result)
    {
        var shard = ParseShard(Given(result, _shard) ?? "0/1")!.Value;
        var format = (Given(result, _format) ?? "parquet").ToLowerInvariant() switch
        {
            "csv" => OutputFormat.Csv,
            "jsonl" => OutputFormat.JsonLines,
            _ => OutputFormat.Parquet,
        };
        var options = new ScoreOptions
        {
            Model = result.GetValue(_model)!,
            ModelVersion = Given(result, _version),
            Input = result.GetValue(_input)!,
            Output = result.GetValue(_output)!,
            OutputFormat = format,
            BatchSize = Given(result, _batchSize) is { } batch ? PositiveInt(batch)!.Value : 0,
            MemoryLimit = Given(result, _memory) is { } memory ? ParseSize(memory)!.Value : 256L << 20,
            KeyColumns = Given(result, _keys) is { } keys ? [.. keys.Split(',').Select(k => k.Trim())] : null,
            Resume = result.GetValue(_resume),
            Shard = shard.Shard,
            Shards = shard.Shards,
            MaxBadRows = Given(result, _maxBad) is { } limit ? BadRowLimit.Parse(limit)! : BadRowLimit.None,
            Quarantine = Given(result, _quarantine),
            SplitBytes = Given(result, _splitSize) is { } split ? ParseSize(split)!.Value : InputSplits.DefaultSplitBytes,
        };
        var compare = Given(result, _compare) is { } url ? new Uri(url) : null;
        var compareRows = Given(result, _compareRows) is { } rows ? PositiveInt(rows)!.Value : 1000;
        var instances = Given(result, _instances) ?? "";
        var intraOp = Given(result, _intraOp) ?? "1";
        return new ScoreRequest(result.GetValue(_repository)!, options, result.GetValue(_json), compare, compareRows)
        {
            Instances = instances == "config" ? null : PositiveInt(instances) ?? DefaultInstances,
            IntraOpThreads = intraOp == "config" ? null : PositiveInt(intraOp),
            Drift = !result.GetValue(_noDrift),
        };
    }

    /// <summary>A size: bytes, or a number with KB, MB, GB or TB (powers of 1024; KiB, MiB, ... too); null when it is none.</summary>
    public static long? ParseSize(string text)
    {
        var trimmed = text.Trim();
        var digits = 0;
        while (digits < trimmed.Length && (char.IsAsciiDigit(trimmed[digits]) || trimmed[digits] == '.'))
        {
            digits++;
        }
        if (!double.TryParse(trimmed.AsSpan(0, digits), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return null;
        }
        var unit = trimmed[digits..].Trim().ToUpperInvariant();
        double? scale = unit switch
        {
            "" or "B" => 1,
            "K" or "KB" or "KIB" => 1L << 10,
            "M" or "MB" or "MIB" => 1L << 20,
            "G" or "GB" or "GIB" => 1L << 30,
            "T" or "TB" or "TIB" => 1L << 40,
            _ => null,
        };
        return scale is { } s && number * s is var bytes and >= 1 and < long.MaxValue ? (long)bytes : null;
    }

    private static (int Shard, int Shards)? ParseShard(string text)
    {
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        return slash > 0
            && int.TryParse(text.AsSpan(0, slash), NumberStyles.None, CultureInfo.InvariantCulture, out var shard)
            && int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var shards)
            && shards >= 1 && shard < shards
            ? (shard, shards)
            : null;
    }

    private static int? PositiveInt(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= 1 ? value : null;

    private static string? Given(ParseResult result, Option<string> option) =>
        result.GetResult(option) is { Implicit: false } given && given.Tokens.Count > 0 ? given.Tokens[0].Value : null;
}
