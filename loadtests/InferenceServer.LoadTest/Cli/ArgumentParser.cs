using System.Globalization;
using InferenceServer.LoadTest.Load;
using InferenceServer.LoadTest.Scenarios;
using InferenceServer.LoadTest.Sla;
using InferenceServer.LoadTest.Targets;

namespace InferenceServer.LoadTest.Cli;

/// <summary>
/// Turns the command line (and a scenario file's defaults and scenarios) into an <see cref="Invocation"/>. Settings
/// are layered — scenario file defaults, then the scenario, then the command line — and a layer that sets the load
/// (concurrency, rate, stages) replaces what lower layers said about it, so a scenario can say <c>rate</c> where the
/// defaults said <c>concurrency</c> (see <see cref="Merge"/>). Contradictions that remain are errors.
/// </summary>
internal static class ArgumentParser
{
    private static readonly string[] LoadKeys = ["concurrency", "rate", "stages", "loop", "find-max-rate"];

    public static Invocation Parse(IReadOnlyList<string> args)
    {
        var cli = ParseArguments(args);
        if (cli.ContainsKey("help"))
        {
            return new Invocation(new GlobalOptions { Help = true }, []);
        }
        if (!cli.TryGetValue("scenario-file", out var scenarioPath))
        {
            if (cli.ContainsKey("scenario"))
            {
                throw new UsageException("--scenario needs --scenario-file");
            }
            var global = BuildGlobal(cli);
            var onlyCeiling = global.ServeTrivialPort is not null || (global.Ceiling && !cli.ContainsKey("model"));
            if (onlyCeiling)
            {
                // A bare --ceiling measures the protocol and concurrency given, if any.
                global = global with
                {
                    CeilingProtocol = cli.TryGetValue("protocol", out var protocol) ? ProtocolNames.Parse(protocol) : Protocol.RestJson,
                    CeilingConcurrency = cli.TryGetValue("concurrency", out var concurrency) ? Integer(concurrency, "--concurrency", 1, 100_000) : 32,
                };
                return new Invocation(global, []);
            }
            return new Invocation(global, [BuildRun("run", cli)]);
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
                if (Flags.Find(key) is null || key is "scenario-file" or "scenario" or "help")
                {
                    throw new UsageException($"--scenario-file {scenarioPath}: unknown setting '{key}'");
                }
            }
        }
        var globals = Merge(file.Defaults, cli);
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
            var settings = Merge(Merge(file.Defaults, scenario.Settings), cli);
            try
            {
                runs.Add(BuildRun(scenario.Name, settings));
            }
            catch (UsageException e)
            {
                throw new UsageException($"scenario '{scenario.Name}': {e.Message}");
            }
        }
        return new Invocation(BuildGlobal(globals), runs);
    }

    /// <summary>Reads <c>--name value</c>, <c>--name=value</c> and switches into a table keyed by flag name.</summary>
    public static Dictionary<string, string> ParseArguments(IReadOnlyList<string> args)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "-?")
            {
                arg = "--help";
            }
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new UsageException($"unexpected argument '{arg}' (flags start with --; see --help)");
            }
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? arg[2..] : arg[2..equals];
            var flag = Flags.Find(name) ?? throw new UsageException($"unknown flag '--{name}' (see --help)");
            string value;
            if (equals >= 0)
            {
                value = arg[(equals + 1)..];
            }
            else if (flag.IsSwitch)
            {
                value = i + 1 < args.Count && bool.TryParse(args[i + 1], out _) ? args[++i] : "true";
            }
            else if (i + 1 < args.Count)
            {
                value = args[++i];
            }
            else
            {
                throw new UsageException($"--{name} needs a value ({flag.Value})");
            }
            if (!settings.TryAdd(name, value))
            {
                throw new UsageException($"--{name} is given twice");
            }
        }
        return settings;
    }

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

    private static GlobalOptions BuildGlobal(IReadOnlyDictionary<string, string> s)
    {
        var ceilingUrl = s.TryGetValue("ceiling-url", out var url) ? ParseUrl(url, "--ceiling-url") : null;
        return new GlobalOptions
        {
            JsonPath = s.GetValueOrDefault("json"),
            ReportPath = s.GetValueOrDefault("report"),
            Ceiling = Switch(s, "ceiling") || ceilingUrl is not null,
            CeilingUrl = ceilingUrl,
            CeilingDuration = s.TryGetValue("ceiling-duration", out var d) ? PositiveDuration(d, "--ceiling-duration") : TimeSpan.FromSeconds(5),
            CeilingWarnShare = s.TryGetValue("ceiling-warn", out var w) ? Share(w, "--ceiling-warn") : 0.8,
            ServeTrivialPort = s.TryGetValue("serve-trivial", out var port) ? Integer(port, "--serve-trivial", 0, 65534) : null,
            NoProgress = Switch(s, "no-progress"),
        };
    }

    private static RunOptions BuildRun(string name, IReadOnlyDictionary<string, string> s)
    {
        var protocol = s.TryGetValue("protocol", out var p) ? ProtocolNames.Parse(p) : Protocol.RestJson;
        var url = s.TryGetValue("url", out var u) ? ParseUrl(u, "--url") : new Uri(protocol == Protocol.Grpc ? "http://127.0.0.1:8001" : "http://127.0.0.1:8000");
        var model = s.GetValueOrDefault("model");
        if (string.IsNullOrWhiteSpace(model))
        {
            throw new UsageException("--model is required (the model to load-test)");
        }

        var findMaxRate = Switch(s, "find-max-rate");
        var hasConcurrency = s.TryGetValue("concurrency", out var concurrencyText);
        var hasRate = s.TryGetValue("rate", out var rateText);
        var hasStages = s.TryGetValue("stages", out var stagesText);
        var hasDuration = s.TryGetValue("duration", out var durationText);
        var loop = s.GetValueOrDefault("loop");
        if (loop is not null and not "open" and not "closed")
        {
            throw new UsageException($"--loop: '{loop}' is not open or closed");
        }
        if (loop is not null && !hasStages)
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

        var duration = hasDuration ? PositiveDuration(durationText!, "--duration") : TimeSpan.FromSeconds(findMaxRate ? 5 : 10);
        IReadOnlyList<Stage>? stages = null;
        LoadMode mode;
        LoadProfile profile;
        string loadText;
        double? rate = hasRate ? PositiveNumber(rateText!, "--rate") : null;
        if (hasStages)
        {
            stages = StagesText.Parse(stagesText!);
            mode = loop == "closed" ? LoadMode.Closed : LoadMode.Open;
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
            var start = s.TryGetValue("start-rate", out var startText) ? PositiveNumber(startText, "--start-rate") : rate ?? 100;
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
            var concurrency = hasConcurrency ? Integer(concurrencyText!, "--concurrency", 1, 100_000) : 1;
            profile = LoadProfile.Constant(concurrency, duration);
            loadText = $"concurrency {concurrency}";
        }

        var arrival = ArrivalProcess.Constant;
        if (s.TryGetValue("arrival", out var arrivalText))
        {
            if (mode != LoadMode.Open)
            {
                throw new UsageException("--arrival applies to open loop (--rate, --stages or --find-max-rate)");
            }
            arrival = arrivalText.ToLowerInvariant() switch
            {
                "constant" or "uniform" => ArrivalProcess.Constant,
                "poisson" => ArrivalProcess.Poisson,
                _ => throw new UsageException($"--arrival: '{arrivalText}' is not constant or poisson"),
            };
        }

        var input = s.GetValueOrDefault("input");
        if (input is not null && (s.ContainsKey("batch-size") || s.ContainsKey("distinct-inputs")))
        {
            throw new UsageException("--batch-size and --distinct-inputs shape generated inputs; the requests in --input carry their own");
        }

        IReadOnlyList<SlaAssertion> sla = s.TryGetValue("sla", out var slaText) ? SlaParser.Parse(slaText) : [];
        if (findMaxRate && sla.Count == 0)
        {
            throw new UsageException("--find-max-rate needs --sla: the capacity is the highest rate that meets it");
        }
        foreach (var flag in (string[])["start-rate", "max-rate", "precision", "max-trials"])
        {
            if (!findMaxRate && s.ContainsKey(flag))
            {
                throw new UsageException($"--{flag} belongs to --find-max-rate");
            }
        }

        return new RunOptions
        {
            Name = name,
            Url = url,
            Model = model,
            Version = s.GetValueOrDefault("version"),
            Protocol = protocol,
            Mode = mode,
            Profile = profile,
            LoadText = loadText,
            Stages = stages,
            Arrival = arrival,
            Warmup = s.TryGetValue("warmup", out var warmup) ? DurationText.Parse(warmup, "--warmup") : TimeSpan.FromSeconds(hasStages ? 0 : findMaxRate ? 1 : 2),
            InputFile = input,
            BatchSize = s.TryGetValue("batch-size", out var batch) ? Integer(batch, "--batch-size", 1, 1 << 20) : 1,
            DistinctInputs = s.TryGetValue("distinct-inputs", out var distinct) ? Integer(distinct, "--distinct-inputs", 1, 100_000) : 16,
            Seed = s.TryGetValue("seed", out var seed) ? Integer(seed, "--seed", 0, int.MaxValue) : 1,
            Timeout = s.TryGetValue("timeout", out var timeout) ? PositiveDuration(timeout, "--timeout") : TimeSpan.FromSeconds(10),
            Connections = s.TryGetValue("connections", out var connections) ? Integer(connections, "--connections", 1, 100_000) : null,
            MaxInFlight = s.TryGetValue("max-in-flight", out var inFlight) ? Integer(inFlight, "--max-in-flight", 1, 10_000_000) : 10_000,
            LateThreshold = s.TryGetValue("late-threshold", out var late) ? DurationText.Parse(late, "--late-threshold") : TimeSpan.FromMilliseconds(1),
            SpinWindow = s.TryGetValue("spin-window", out var spin) ? DurationText.Parse(spin, "--spin-window") : TimeSpan.FromMilliseconds(2),
            SampleInterval = s.TryGetValue("sample-interval", out var sample) ? PositiveDuration(sample, "--sample-interval") : TimeSpan.FromSeconds(1),
            Sla = sla,
            SlaText = slaText,
            FindMaxRate = findMaxRate,
            StartRate = profile.MaxLevel,
            MaxRate = s.TryGetValue("max-rate", out var maxRate) ? PositiveNumber(maxRate, "--max-rate") : 1_000_000,
            Precision = s.TryGetValue("precision", out var precision) ? Share(precision, "--precision") : 0.05,
            MaxTrials = s.TryGetValue("max-trials", out var trials) ? Integer(trials, "--max-trials", 1, 1000) : 15,
        };
    }

    private static Uri ParseUrl(string text, string flag)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new UsageException($"{flag}: '{text}' is not an http:// or https:// address");
        }
        return uri;
    }

    private static bool Switch(IReadOnlyDictionary<string, string> s, string name) =>
        s.TryGetValue(name, out var value) && (bool.TryParse(value, out var on) ? on : throw new UsageException($"--{name}: '{value}' is not true or false"));

    private static int Integer(string text, string flag, int min, int max)
    {
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new UsageException($"{flag}: '{text}' is not a whole number from {min} to {max}");
        }
        return value;
    }

    private static double PositiveNumber(string text, string flag)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value <= 0 || !double.IsFinite(value))
        {
            throw new UsageException($"{flag}: '{text}' is not a positive number");
        }
        return value;
    }

    private static TimeSpan PositiveDuration(string text, string flag)
    {
        var value = DurationText.Parse(text, flag);
        if (value <= TimeSpan.Zero)
        {
            throw new UsageException($"{flag}: '{text}' must be longer than zero");
        }
        return value;
    }

    /// <summary>A share written as <c>80%</c> or <c>0.8</c>.</summary>
    private static double Share(string text, string flag)
    {
        var percent = text.EndsWith('%');
        if (!double.TryParse(percent ? text[..^1] : text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value <= 0)
        {
            throw new UsageException($"{flag}: '{text}' is not a share such as 5% or 0.05");
        }
        value = percent ? value / 100 : value;
        if (value > 1)
        {
            throw new UsageException($"{flag}: '{text}' is more than 100%");
        }
        return value;
    }
}
