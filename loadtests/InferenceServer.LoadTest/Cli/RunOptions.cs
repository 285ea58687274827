using InferenceServer.LoadTest.Load;
using InferenceServer.LoadTest.ModelMix;
using InferenceServer.LoadTest.Sla;
using InferenceServer.LoadTest.Targets;

namespace InferenceServer.LoadTest.Cli;

/// <summary>One run (a scenario, or the command line's only run): target, load model, inputs and SLA.</summary>
internal sealed record RunOptions
{
    public string Name { get; init; } = "run";

    public required Uri Url { get; init; }

    public required string Model { get; init; }

    /// <summary>A multi-model run's models (<c>--models</c>), in rank order; null for one model (<see cref="Model"/>, then the first of these).</summary>
    public IReadOnlyList<string>? Models { get; init; }

    public ModelDistribution ModelDistribution { get; init; } = ModelDistribution.Uniform;

    /// <summary>Every model requests go to: <see cref="Models"/>, or the one <see cref="Model"/>.</summary>
    public IReadOnlyList<string> AllModels => Models ?? [Model];

    /// <summary>The target as reports name it: the model, or "200 models (zipf:1.1)".</summary>
    public string ModelText => Models is null ? Model : $"{Models.Count} models ({ModelDistribution})";

    public string? Version { get; init; }

    public Protocol Protocol { get; init; } = Protocol.RestJson;

    public LoadMode Mode { get; init; } = LoadMode.Closed;

    /// <summary>The measured load: requests per second (open) or workers (closed) over time.</summary>
    public required LoadProfile Profile { get; init; }

    /// <summary>How the profile was asked for, for reports: "concurrency 8", "rate 500/s", "stages 10s:100,20s:500".</summary>
    public required string LoadText { get; init; }

    public IReadOnlyList<Stage>? Stages { get; init; }

    public ArrivalProcess Arrival { get; init; } = ArrivalProcess.Constant;

    public TimeSpan Warmup { get; init; }

    public string? InputFile { get; init; }

    public int BatchSize { get; init; } = 1;

    public int DistinctInputs { get; init; } = 16;

    public int Seed { get; init; } = 1;

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>HTTP/1.1 connections (REST) or HTTP/2 connection pools (gRPC); null picks from the load.</summary>
    public int? Connections { get; init; }

    public int MaxInFlight { get; init; } = 10_000;

    public TimeSpan LateThreshold { get; init; } = TimeSpan.FromMilliseconds(1);

    public TimeSpan SpinWindow { get; init; } = DefaultSpinWindow(Environment.ProcessorCount);

    /// <summary>
    /// The spin before each open-loop send when none is given: 2 ms, or none for a generator with one core, where the
    /// spin takes the core its own sends and reads need (pinned to one core at 800 requests/s, it delivered the first
    /// seconds of a run late and in bunches, and the server it drove idled in stretches).
    /// </summary>
    public static TimeSpan DefaultSpinWindow(int processors) => processors > 1 ? TimeSpan.FromMilliseconds(2) : TimeSpan.Zero;

    public TimeSpan SampleInterval { get; init; } = TimeSpan.FromSeconds(1);

    public IReadOnlyList<SlaAssertion> Sla { get; init; } = [];

    public string? SlaText { get; init; }

    public bool FindMaxRate { get; init; }

    public double StartRate { get; init; } = 100;

    public double MaxRate { get; init; } = 1_000_000;

    /// <summary>Capacity search stops once the bracket is narrower than this share of its upper end.</summary>
    public double Precision { get; init; } = 0.05;

    public int MaxTrials { get; init; } = 40;

    /// <summary>Capacity search: no trial runs longer than this, however few samples a low rate gathers in it.</summary>
    public TimeSpan MaxTrialDuration { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The connections actually used.</summary>
    /// <remarks>
    /// HTTP/1.1 carries one request at a time per connection, so REST gets one per worker (256 for open loop, where
    /// in-flight requests are not bounded by workers). HTTP/2 multiplexes: one connection per 100 concurrent calls
    /// (the server's default stream limit) for closed loop, and a few for open loop; more connections only add
    /// threads and context switches on a small machine.
    /// </remarks>
    public int EffectiveConnections => Connections ?? (Protocol == Protocol.Grpc
        ? Mode == LoadMode.Closed ? Math.Clamp((int)Math.Ceiling(Profile.MaxLevel / 100), 1, 8) : Math.Clamp(Environment.ProcessorCount / 2, 1, 4)
        : Mode == LoadMode.Closed ? Math.Max(1, (int)Math.Ceiling(Profile.MaxLevel)) : 256);

    /// <summary>The warm-up level: the first stage's target, or the constant level.</summary>
    public double WarmupLevel => Stages is { Count: > 0 } ? Stages[0].Target : Profile.MaxLevel;

    public RunPlan ToPlan() => new()
    {
        Mode = Mode,
        Profile = Profile,
        Warmup = Warmup,
        WarmupLevel = WarmupLevel,
        Arrival = Arrival,
        Timeout = Timeout,
        LateThreshold = LateThreshold,
        SpinWindow = SpinWindow,
        MaxInFlight = MaxInFlight,
        Seed = Seed,
        SampleInterval = SampleInterval,
        Models = Models is null ? null : new ModelPicker(Models.Count, ModelDistribution, Seed),
    };
}
