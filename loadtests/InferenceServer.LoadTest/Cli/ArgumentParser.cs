using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Globalization;
using InferenceServer.LoadTest.Load;
using InferenceServer.LoadTest.ModelMix;
using InferenceServer.LoadTest.Scenarios;
using InferenceServer.LoadTest.Sla;
using InferenceServer.LoadTest.Targets;

namespace InferenceServer.LoadTest.Cli;

/// <summary>
/// Turns the command line (and a scenario file's defaults and scenarios) into an <see cref="Invocation"/>, through
/// System.CommandLine (<see cref="LoadTestCommand"/>). Settings are layered — scenario file defaults, then the scenario,
/// then the command line — and a layer that sets the load (concurrency, rate, stages) replaces what lower layers said
/// about it, so a scenario can say <c>rate</c> where the defaults said <c>concurrency</c> (see <see cref="Merge"/>). Each
/// scenario's layered settings are parsed by the same command as the command line, so a value in a file is checked
/// exactly as a flag is. Contradictions that remain are errors.
/// </summary>
internal static class ArgumentParser
{
    private static readonly string[] LoadKeys = ["concurrency", "rate", "stages", "loop", "find-max-rate"];

    public static Invocation Parse(IReadOnlyList<string> args)
    {
        var parsed = LoadTestCommand.Root.Parse(args, LoadTestCommand.Configuration);
        if (parsed.Action is HelpAction)
        {
            return new Invocation(new GlobalOptions { Help = true }, []);
        }
        ThrowOnError(parsed);
        var cli = Given(parsed);
        if (!cli.TryGetValue("scenario-file", out var scenarioPath))
        {
            if (cli.ContainsKey("scenario"))
            {
                throw new UsageException("--scenario needs --scenario-file");
            }
            var global = BuildGlobal(parsed);
            var onlyCeiling = global.ServeTrivialPort is not null || (global.Ceiling && !cli.ContainsKey("model") && !cli.ContainsKey("models"));
            if (onlyCeiling)
            {
                // A bare --ceiling measures the protocol and concurrency given, if any.
                global = global with
                {
                    CeilingProtocol = parsed.GetResult(LoadTestCommand.Protocol) is null ? Protocol.RestJson : parsed.GetValue(LoadTestCommand.Protocol),
                    CeilingConcurrency = IsGiven(parsed, LoadTestCommand.Concurrency) ? parsed.GetValue(LoadTestCommand.Concurrency) : 32,
                };
                return new Invocation(global, []);
            }
            return new Invocation(global, [BuildRun("run", parsed)]);
        }

        ScenarioFile file;
        try
        {
            file = ScenarioFile.Load(scenarioPath);
        }
        catch (FormatException e)
        {
            throw new UsageException($"--scenario-file: {e.Message}");
        }
        catch (IOException e)
        {
            throw new UsageException($"--scenario-file: {e.Message}");
        }
        foreach (var layer in file.Scenarios.Select(s => s.Settings).Prepend(file.Defaults))
        {
            foreach (var key in layer.Keys)
            {
                if (!LoadTestCommand.All.Any(o => o.Name == "--" + key) || key is "scenario-file" or "scenario")
                {
                    throw new UsageException($"--scenario-file {scenarioPath}: unknown setting '{key}'");
                }
            }
        }
        var globals = Reparse(Merge(file.Defaults, cli));
        var selected = file.Scenarios;
        if (cli.TryGetValue("scenario", out var wanted))
        {
            selected = [.. file.Scenarios.Where(s => s.Name == wanted)];
            if (selected.Count == 0)
            {
                throw new UsageException($"--scenario: '{wanted}' is not in {scenarioPath} (it has: {string.Join(", ", file.Scenarios.Select(s => s.Name))})");
            }
        }
        var runs = new List<RunOptions>();
        foreach (var scenario in selected)
        {
            try
            {
                runs.Add(BuildRun(scenario.Name, Reparse(Merge(Merge(file.Defaults, scenario.Settings), cli))));
            }
            catch (UsageException e)
            {
                throw new UsageException($"scenario '{scenario.Name}': {e.Message}");
            }
        }
        return new Invocation(BuildGlobal(globals), runs);
    }

    /// <summary>
    /// Throws the first problem as one line: an unknown flag or stray argument, a flag given twice or without its value,
    /// else the first value that did not parse (our parsers' messages name the flag and what it takes).
    /// </summary>
    private static void ThrowOnError(ParseResult parsed)
    {
        if (parsed.Errors.Count == 0)
        {
            return;
        }
        if (parsed.UnmatchedTokens.Count > 0)
        {
            var token = parsed.UnmatchedTokens[0];
            // A switch takes its value only when it reads as true or false; anything else is left over after it.
            var tokens = parsed.Tokens;
            for (var i = 1; i < tokens.Count; i++)
            {
                if (tokens[i].Value == token && tokens[i].Type == TokenType.Argument && tokens[i - 1].Type == TokenType.Option
                    && LoadTestCommand.All.FirstOrDefault(o => o.Name == tokens[i - 1].Value) is Option<bool> toggle)
                {
                    throw new UsageException($"{toggle.Name}: '{token}' is not true or false");
                }
            }
            throw new UsageException(token.StartsWith('-')
                ? $"unknown flag '{token.Split('=', ':')[0]}' (see --help)"
                : $"unexpected argument '{token}' (flags start with --; see --help)");
        }
        foreach (var option in LoadTestCommand.All)
        {
            if (parsed.GetResult(option) is not { Implicit: false } result)
            {
                continue;
            }
            if (result.IdentifierTokenCount > 1 || result.Tokens.Count > option.Arity.MaximumNumberOfValues)
            {
                throw new UsageException($"{option.Name} is given twice");
            }
            if (result.Tokens.Count < option.Arity.MinimumNumberOfValues)
            {
                throw new UsageException($"{option.Name} needs a value ({option.HelpName})");
            }
        }
        throw new UsageException(parsed.Errors[0].Message);
    }

    /// <summary>The flags given explicitly, by name without dashes, with their text (a bare switch is "true").</summary>
    private static Dictionary<string, string> Given(ParseResult parsed)
    {
        var given = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var option in LoadTestCommand.All)
        {
            if (parsed.GetResult(option) is { Implicit: false } result)
            {
                given[option.Name[2..]] = result.Tokens.Count == 0 ? "true" : result.Tokens[0].Value;
            }
        }
        return given;
    }

    /// <summary>Layered settings parsed by the command, as if they had been typed.</summary>
    private static ParseResult Reparse(IReadOnlyDictionary<string, string> settings)
    {
        var args = new List<string>(settings.Count);
        foreach (var (key, value) in settings)
        {
            // One token per setting: the value may start with a dash or hold spaces.
            args.Add($"--{key}={value}");
        }
        var parsed = LoadTestCommand.Root.Parse(args, LoadTestCommand.Configuration);
        ThrowOnError(parsed);
        return parsed;
    }

    private static bool IsGiven(ParseResult parsed, Option option) => parsed.GetResult(option) is { Implicit: false };

    /// <summary>
    /// <paramref name="upper"/> over <paramref name="lower"/>: a load set above replaces the load below, and stages
    /// set above replace a duration below (they carry their own length). A duration set above stages below is left
    /// to clash, because shortening a ramp has no single meaning.
    /// </summary>
    public static Dictionary<string, string> Merge(IReadOnlyDictionary<string, string> lower, IReadOnlyDictionary<string, string> upper)
    {
        var merged = new Dictionary<string, string>(lower, StringComparer.Ordinal);
        if (LoadKeys.Any(upper.ContainsKey))
        {
            foreach (var key in LoadKeys)
            {
                merged.Remove(key);
            }
        }
        if (upper.ContainsKey("stages"))
        {
            merged.Remove("duration");
        }
        foreach (var (key, value) in upper)
        {
            merged[key] = value;
        }
        return merged;
    }

    private static GlobalOptions BuildGlobal(ParseResult p)
    {
        var ceilingUrl = p.GetValue(LoadTestCommand.CeilingUrl);
        return new GlobalOptions
        {
            JsonPath = p.GetValue(LoadTestCommand.Json),
            ReportPath = p.GetValue(LoadTestCommand.Report),
            Ceiling = p.GetValue(LoadTestCommand.Ceiling) || ceilingUrl is not null,
            CeilingUrl = ceilingUrl,
            CeilingDuration = IsGiven(p, LoadTestCommand.CeilingDuration) ? p.GetValue(LoadTestCommand.CeilingDuration) : TimeSpan.FromSeconds(5),
            CeilingWarnShare = p.GetValue(LoadTestCommand.CeilingWarn),
            ServeTrivialPort = IsGiven(p, LoadTestCommand.ServeTrivial) ? p.GetValue(LoadTestCommand.ServeTrivial) : null,
            NoProgress = p.GetValue(LoadTestCommand.NoProgress),
        };
    }

    private static RunOptions BuildRun(string name, ParseResult p)
    {
        var protocol = IsGiven(p, LoadTestCommand.Protocol) ? p.GetValue(LoadTestCommand.Protocol) : Protocol.RestJson;
        var url = p.GetValue(LoadTestCommand.Url) ?? new Uri(protocol == Protocol.Grpc ? "http://127.0.0.1:8001" : "http://127.0.0.1:8000");
        var model = p.GetValue(LoadTestCommand.Model);
        var models = p.GetValue(LoadTestCommand.Models);
        if (models is not null && IsGiven(p, LoadTestCommand.Model))
        {
            throw new UsageException("--model and --models exclude each other (one model, or many)");
        }
        if (models is null && IsGiven(p, LoadTestCommand.Distribution))
        {
            throw new UsageException("--model-distribution spreads requests over --models; with one --model there is nothing to spread");
        }
        if (models is not null)
        {
            // The first model stands for the run where one name is wanted (the metadata that shapes generated inputs).
            model = models[0];
        }
        if (string.IsNullOrWhiteSpace(model))
        {
            throw new UsageException("--model is required (the model to load-test), or --models for many");
        }

        var findMaxRate = p.GetValue(LoadTestCommand.FindMaxRate);
        var hasConcurrency = IsGiven(p, LoadTestCommand.Concurrency);
        var hasRate = IsGiven(p, LoadTestCommand.Rate);
        var hasStages = IsGiven(p, LoadTestCommand.Stages);
        var hasDuration = IsGiven(p, LoadTestCommand.Duration);
        var hasLoop = IsGiven(p, LoadTestCommand.Loop);
        if (hasLoop && !hasStages)
        {
            throw new UsageException("--loop says what --stages targets are; without --stages use --concurrency (closed) or --rate (open)");
        }
        if (hasConcurrency && hasRate)
        {
            throw new UsageException("--concurrency (closed loop) and --rate (open loop) exclude each other");
        }
        if (hasStages && (hasConcurrency || hasRate))
        {
            throw new UsageException("--stages sets the load itself; drop --concurrency/--rate (add --loop closed to ramp workers instead of rates)");
        }
        if (hasStages && hasDuration)
        {
            throw new UsageException("--stages sets the length itself; drop --duration");
        }
        if (findMaxRate && (hasConcurrency || hasStages))
        {
            throw new UsageException("--find-max-rate searches open-loop rates; drop --concurrency/--stages");
        }

        var duration = hasDuration ? p.GetValue(LoadTestCommand.Duration) : TimeSpan.FromSeconds(findMaxRate ? 5 : 10);
        IReadOnlyList<Stage>? stages = null;
        LoadMode mode;
        LoadProfile profile;
        string loadText;
        double? rate = hasRate ? p.GetValue(LoadTestCommand.Rate) : null;
        if (hasStages)
        {
            stages = p.GetValue(LoadTestCommand.Stages)!;
            mode = hasLoop ? p.GetValue(LoadTestCommand.Loop) : LoadMode.Open;
            profile = new LoadProfile(stages);
            loadText = $"stages {StagesText.Format(stages)} ({(mode == LoadMode.Open ? "requests/s" : "workers")})";
            if (mode == LoadMode.Closed && stages.Any(st => st.Target != Math.Floor(st.Target)))
            {
                throw new UsageException("--stages with --loop closed: targets are numbers of workers (whole numbers)");
            }
        }
        else if (findMaxRate)
        {
            mode = LoadMode.Open;
            var start = IsGiven(p, LoadTestCommand.StartRate) ? p.GetValue(LoadTestCommand.StartRate) : rate ?? 100;
            profile = LoadProfile.Constant(start, duration);
            loadText = "capacity search";
        }
        else if (rate is not null)
        {
            mode = LoadMode.Open;
            profile = LoadProfile.Constant(rate.Value, duration);
            loadText = $"rate {rate.Value.ToString("0.###", CultureInfo.InvariantCulture)}/s";
        }
        else
        {
            mode = LoadMode.Closed;
            var concurrency = p.GetValue(LoadTestCommand.Concurrency);
            profile = LoadProfile.Constant(concurrency, duration);
            loadText = $"concurrency {concurrency}";
        }

        if (IsGiven(p, LoadTestCommand.Arrival) && mode != LoadMode.Open)
        {
            throw new UsageException("--arrival applies to open loop (--rate, --stages or --find-max-rate)");
        }

        var input = p.GetValue(LoadTestCommand.Input);
        if (input is not null && (IsGiven(p, LoadTestCommand.BatchSize) || IsGiven(p, LoadTestCommand.DistinctInputs)))
        {
            throw new UsageException("--batch-size and --distinct-inputs shape generated inputs; the requests in --input carry their own");
        }
        if (input is null && protocol == Protocol.RestPredict)
        {
            throw new UsageException("--protocol rest-predict sends the predict bodies of --input FILE.jsonl (one {\"record\": {...}} or {\"entity\": {...}} per line); there is nothing to generate them from");
        }

        var sla = p.GetValue(LoadTestCommand.Sla) ?? [];
        if (findMaxRate && sla.Count == 0)
        {
            throw new UsageException("--find-max-rate needs --sla: the capacity is the highest rate that meets it");
        }
        foreach (var option in (Option[])[LoadTestCommand.StartRate, LoadTestCommand.MaxRate, LoadTestCommand.Precision, LoadTestCommand.MaxTrials, LoadTestCommand.MaxTrialDuration])
        {
            if (!findMaxRate && IsGiven(p, option))
            {
                throw new UsageException($"{option.Name} belongs to --find-max-rate");
            }
        }

        return new RunOptions
        {
            Name = name,
            Url = url,
            Model = model,
            Models = models is { Count: > 1 } ? models : null,
            ModelDistribution = p.GetValue(LoadTestCommand.Distribution) ?? ModelDistribution.Uniform,
            Version = p.GetValue(LoadTestCommand.ModelVersion),
            Protocol = protocol,
            Mode = mode,
            Profile = profile,
            LoadText = loadText,
            Stages = stages,
            Arrival = IsGiven(p, LoadTestCommand.Arrival) ? p.GetValue(LoadTestCommand.Arrival) : ArrivalProcess.Constant,
            Warmup = IsGiven(p, LoadTestCommand.Warmup) ? p.GetValue(LoadTestCommand.Warmup) : TimeSpan.FromSeconds(hasStages ? 0 : findMaxRate ? 1 : 2),
            InputFile = input,
            BatchSize = p.GetValue(LoadTestCommand.BatchSize),
            DistinctInputs = p.GetValue(LoadTestCommand.DistinctInputs),
            Seed = p.GetValue(LoadTestCommand.Seed),
            Timeout = IsGiven(p, LoadTestCommand.Timeout) ? p.GetValue(LoadTestCommand.Timeout) : TimeSpan.FromSeconds(10),
            Connections = IsGiven(p, LoadTestCommand.Connections) ? p.GetValue(LoadTestCommand.Connections) : null,
            MaxInFlight = p.GetValue(LoadTestCommand.MaxInFlight),
            LateThreshold = IsGiven(p, LoadTestCommand.LateThreshold) ? p.GetValue(LoadTestCommand.LateThreshold) : TimeSpan.FromMilliseconds(1),
            SpinWindow = IsGiven(p, LoadTestCommand.SpinWindow) ? p.GetValue(LoadTestCommand.SpinWindow) : RunOptions.DefaultSpinWindow(Environment.ProcessorCount),
            SampleInterval = IsGiven(p, LoadTestCommand.SampleInterval) ? p.GetValue(LoadTestCommand.SampleInterval) : TimeSpan.FromSeconds(1),
            Sla = sla,
            SlaText = p.GetResult(LoadTestCommand.Sla) is { Implicit: false } slaResult ? slaResult.Tokens[0].Value : null,
            FindMaxRate = findMaxRate,
            StartRate = profile.MaxLevel,
            MaxRate = p.GetValue(LoadTestCommand.MaxRate),
            Precision = p.GetValue(LoadTestCommand.Precision),
            MaxTrials = p.GetValue(LoadTestCommand.MaxTrials),
            MaxTrialDuration = IsGiven(p, LoadTestCommand.MaxTrialDuration) ? p.GetValue(LoadTestCommand.MaxTrialDuration) : TimeSpan.FromSeconds(60),
        };
    }
}
