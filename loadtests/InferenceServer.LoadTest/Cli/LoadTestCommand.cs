using System.CommandLine;
using System.CommandLine.Parsing;
using InferenceServer.LoadTest.Load;
using InferenceServer.LoadTest.ModelMix;
using InferenceServer.LoadTest.Sla;
using InferenceServer.LoadTest.Targets;

namespace InferenceServer.LoadTest.Cli;

/// <summary>
/// <c>loadtest</c>'s command line as System.CommandLine options, in the order the help lists them. Every value goes
/// through <see cref="ValueParsers"/> (or the SLA and stage parsers), so a bad one is refused with our one-line message
/// rather than the library's, which would name a .NET type.
/// </summary>
internal static class LoadTestCommand
{
    public static readonly Option<Uri> Url = Value("url", "URL", "Server address [default: http://127.0.0.1:8000, or http://127.0.0.1:8001 with --protocol grpc]", ValueParsers.Url);
    public static readonly Option<string> Model = Value("model", "NAME", "Model to load-test (required, except for a bare --ceiling)", (text, _) => text);
    public static readonly Option<IReadOnlyList<string>> Models = Value("models", "LIST",
        "Many models instead of --model: names separated by commas, each with at most one range, e.g. \"variant_{0..199}\"; the order is the rank for --model-distribution",
        ModelList.Parse);
    public static readonly Option<ModelDistribution> Distribution = Value("model-distribution", "D",
        "With --models, how requests spread over them: uniform | zipf:S (the k-th listed gets a share proportional to 1/k^S) [default: uniform]",
        ModelDistribution.Parse);
    public static readonly Option<string> ModelVersion = Value("version", "V", "Model version [default: the server's choice]", (text, _) => text);
    public static readonly Option<Protocol> Protocol = Value("protocol", "P", "rest-json | rest-binary | grpc | rest-predict (predict bodies from --input) [default: rest-json]", (text, _) => ProtocolNames.Parse(text));
    public static readonly Option<int> Concurrency = Value("concurrency", "N", "Closed loop: N workers, each sending when its previous request is answered",
        (text, flag) => ValueParsers.Integer(text, flag, 1, 100_000), 1);
    public static readonly Option<double> Rate = Value("rate", "R", "Open loop: R requests per second on a schedule, answered or not", ValueParsers.PositiveNumber);
    public static readonly Option<ArrivalProcess> Arrival = Value("arrival", "A", "Open loop spacing: constant | poisson [default: constant]", ValueParsers.Arrival);
    public static readonly Option<IReadOnlyList<Stage>> Stages = Value("stages", "LIST",
        "Ramp, e.g. \"10s:100,20s:500\": linear from the previous target (0 at first) over each duration; rates (open loop) unless --loop closed",
        (text, _) => StagesText.Parse(text));
    public static readonly Option<LoadMode> Loop = Value("loop", "L", "open | closed: what --stages targets are [default: open (rates)]", ValueParsers.Loop);
    public static readonly Option<TimeSpan> Duration = Value("duration", "D",
        "Measured length, e.g. 30s, 2m [default: 10s; with --find-max-rate, the shortest trial: 5s]", ValueParsers.PositiveDuration);
    public static readonly Option<TimeSpan> Warmup = Value("warmup", "D", "Load before measuring, left out of the results [default: 2s; 0 with --stages; 1s per trial]",
        DurationText.Parse);
    public static readonly Option<string> Input = Value("input", "FILE", "JSONL of v2 JSON inference requests, one per line, sent round robin", (text, _) => text);
    public static readonly Option<int> BatchSize = Value("batch-size", "N", "Generated inputs: the value of every -1 dimension",
        (text, flag) => ValueParsers.Integer(text, flag, 1, 1 << 20), 1);
    public static readonly Option<int> DistinctInputs = Value("distinct-inputs", "N", "Generated inputs: how many different random requests",
        (text, flag) => ValueParsers.Integer(text, flag, 1, 100_000), 16);
    public static readonly Option<int> Seed = Value("seed", "N", "Seed of the generated inputs and the Poisson schedule",
        (text, flag) => ValueParsers.Integer(text, flag, 0, int.MaxValue), 1);
    public static readonly Option<TimeSpan> Timeout = Value("timeout", "D", "A request unanswered after this is a timeout error [default: 10s]", ValueParsers.PositiveDuration);
    public static readonly Option<int> Connections = Value("connections", "N",
        "HTTP/1.1 connections (REST) or HTTP/2 pools (gRPC) [default: the concurrency, or 256 open loop; gRPC: 1 per 100 workers]",
        (text, flag) => ValueParsers.Integer(text, flag, 1, 100_000));
    public static readonly Option<int> MaxInFlight = Value("max-in-flight", "N", "Open loop: requests outstanding at most; beyond, the schedule waits and lateness shows it",
        (text, flag) => ValueParsers.Integer(text, flag, 1, 10_000_000), 10_000);
    public static readonly Option<TimeSpan> LateThreshold = Value("late-threshold", "D", "Open loop: a request starting this much after its intended time is late [default: 1ms]",
        DurationText.Parse);
    public static readonly Option<TimeSpan> SpinWindow = Value("spin-window", "D",
        "Open loop: spin on the clock this long before each send instead of trusting the timer, which fires up to a few ms late on a busy machine; 0 saves CPU [default: 2ms; 0 on one core]",
        DurationText.Parse);
    public static readonly Option<TimeSpan> SampleInterval = Value("sample-interval", "D", "Length of one point of the time series [default: 1s]", ValueParsers.PositiveDuration);
    public static readonly Option<IReadOnlyList<SlaAssertion>> Sla = Value("sla", "LIST", "Assertions, e.g. \"p99<20ms,errors<0.1%,throughput>=2000\"; exit 1 when one fails",
        (text, _) => SlaParser.Parse(text));
    public static readonly Option<bool> FindMaxRate = Switch("find-max-rate",
        "Capacity search: the highest open-loop rate meeting --sla, from trials long enough for its percentiles, the boundary trials repeated");
    public static readonly Option<double> StartRate = Value("start-rate", "R", "Capacity search: first rate tried [default: --rate, or 100]", ValueParsers.PositiveNumber);
    public static readonly Option<double> MaxRate = Value("max-rate", "R", "Capacity search: never try above this", ValueParsers.PositiveNumber, 1_000_000);
    public static readonly Option<double> Precision = Value("precision", "P", "Capacity search: stop when the bracket is within P of its top, e.g. 5%", ValueParsers.Share, 0.05);
    public static readonly Option<int> MaxTrials = Value("max-trials", "N", "Capacity search: at most N trial runs",
        (text, flag) => ValueParsers.Integer(text, flag, 1, 1000), 40);
    public static readonly Option<TimeSpan> MaxTrialDuration = Value("max-trial-duration", "D",
        "Capacity search: the longest trial, however few samples a low rate gathers in it [default: 60s]", ValueParsers.PositiveDuration);
    public static readonly Option<string> ScenarioFile = Value("scenario-file", "FILE", "YAML or JSON file of named scenarios (keys are these flags' names)", (text, _) => text);
    public static readonly Option<string> Scenario = Value("scenario", "NAME", "Run only this scenario of --scenario-file [default: all, in order]", (text, _) => text);
    public static readonly Option<string> Json = Value("json", "FILE", "Write the results as JSON", (text, _) => text);
    public static readonly Option<string> Report = Value("report", "FILE", "Write a self-contained HTML report with charts", (text, _) => text);
    public static readonly Option<bool> Ceiling = Switch("ceiling", "First measure the generator's own ceiling against a trivial endpoint; warn when a run comes near it");
    public static readonly Option<Uri> CeilingUrl = Value("ceiling-url", "URL", "The trivial endpoint to measure against [default: one hosted in a child process]", ValueParsers.Url);
    public static readonly Option<TimeSpan> CeilingDuration = Value("ceiling-duration", "D", "Length of the ceiling measurement [default: 5s]", ValueParsers.PositiveDuration);
    public static readonly Option<double> CeilingWarn = Value("ceiling-warn", "P", "Warn when a run reaches this share of the ceiling, e.g. 80%", ValueParsers.Share, 0.8);
    public static readonly Option<int> ServeTrivial = Value("serve-trivial", "PORT", "Only host the trivial endpoint (HTTP/1.1 on PORT, HTTP/2 on PORT+1) until Ctrl+C",
        (text, flag) => ValueParsers.Integer(text, flag, 0, 65534));
    public static readonly Option<bool> NoProgress = Switch("no-progress", "No live display (it is off anyway when stdout is not a terminal)");

    /// <summary>Every option of ours (not the library's help), in help order.</summary>
    public static readonly IReadOnlyList<Option> All =
    [
        Url, Model, Models, Distribution, ModelVersion, Protocol, Concurrency, Rate, Arrival, Stages, Loop, Duration, Warmup, Input, BatchSize, DistinctInputs, Seed,
        Timeout, Connections, MaxInFlight, LateThreshold, SpinWindow, SampleInterval, Sla, FindMaxRate, StartRate, MaxRate, Precision, MaxTrials,
        MaxTrialDuration, ScenarioFile, Scenario, Json, Report, Ceiling, CeilingUrl, CeilingDuration, CeilingWarn, ServeTrivial, NoProgress,
    ];

    /// <summary>The command: our options and the library's help (<c>--help</c>, <c>-h</c>, <c>-?</c>).</summary>
    public static readonly RootCommand Root = CreateRoot();

    /// <summary>How the parser reads tokens: no <c>@file</c> response files, so an argument may start with @.</summary>
    public static readonly ParserConfiguration Configuration = new() { ResponseFileTokenReplacer = null };

    private static RootCommand CreateRoot()
    {
        var root = new RootCommand("""
            loadtest — load tests for KServe v2 inference servers (REST JSON, REST binary, gRPC), with SLA gates.

              loadtest --model income --protocol rest-binary --concurrency 8 --duration 30s
              loadtest --model income --rate 2000 --arrival poisson --sla "p99<20ms,errors<0.1%"
              loadtest --model income --stages "10s:100,20s:500" --report run.html --json run.json
              loadtest --model income --find-max-rate --sla "p99<10ms"
              loadtest --models "variant_{0..199}" --model-distribution zipf:1.1 --rate 200 --input request.jsonl
              loadtest --scenario-file scenarios.yaml [--scenario NAME]
              loadtest --ceiling [--protocol grpc]

            Latency counts from each request's intended start (open loop: its scheduled time), to the end of the response.
            With --models, requests that waited for their model to load (the server's Inference-Cold-Start-Ms) are reported
            apart from warm ones, and 503s (gRPC UNAVAILABLE) as cold-start deadline misses.
            Exit codes: 0 every SLA assertion held; 1 one failed, or no request succeeded, or no rate met the SLA;
            2 bad usage; 3 server unreachable or model not ready before the load; 130 interrupted.
            """);
        // Our --version is the model's version; the library's would print the tool's.
        for (var i = root.Options.Count - 1; i >= 0; i--)
        {
            if (root.Options[i] is VersionOption)
            {
                root.Options.RemoveAt(i);
            }
        }
        foreach (var option in All)
        {
            root.Options.Add(option);
        }
        return root;
    }

    private static Option<T> Value<T>(string name, string helpName, string description, Func<string, string, T> parse)
    {
        var flag = "--" + name;
        return new Option<T>(flag)
        {
            HelpName = helpName,
            Description = description,
            CustomParser = result => Convert(result, flag, parse),
        };
    }

    private static Option<T> Value<T>(string name, string helpName, string description, Func<string, string, T> parse, T defaultValue)
    {
        var option = Value(name, helpName, description, parse);
        option.DefaultValueFactory = _ => defaultValue;
        return option;
    }

    private static Option<bool> Switch(string name, string description)
    {
        var flag = "--" + name;
        return new Option<bool>(flag)
        {
            Description = description,
            Arity = ArgumentArity.ZeroOrOne,
            CustomParser = result => result.Tokens.Count == 0 || Convert(result, flag, static (text, flag) => bool.TryParse(text, out var on)
                ? on
                : throw new UsageException($"{flag}: '{text}' is not true or false")),
        };
    }

    // Only called with the one token the arity allows (the parser reports a missing or repeated value itself).
    private static T? Convert<T>(ArgumentResult result, string flag, Func<string, string, T> parse)
    {
        try
        {
            return parse(result.Tokens[0].Value, flag);
        }
        catch (UsageException e)
        {
            result.AddError(e.Message);
            return default;
        }
    }
}
