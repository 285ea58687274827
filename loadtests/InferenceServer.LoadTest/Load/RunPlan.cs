using InferenceServer.LoadTest.ModelMix;

namespace InferenceServer.LoadTest.Load;

/// <summary>What one run does: the load model, its profile (rate or workers over time), warm-up and limits.</summary>
internal sealed record RunPlan
{
    public required LoadMode Mode { get; init; }

    /// <summary>The measured part: requests per second (open loop) or workers (closed loop) over time.</summary>
    public required LoadProfile Profile { get; init; }

    /// <summary>Load before the measurement starts, recorded apart and left out of the results.</summary>
    public TimeSpan Warmup { get; init; }

    /// <summary>The level during warm-up.</summary>
    public double WarmupLevel { get; init; }

    public ArrivalProcess Arrival { get; init; } = ArrivalProcess.Constant;

    /// <summary>A request not answered within this counts as a timeout and is cancelled.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Open loop: a request that starts more than this after its intended time counts as late.</summary>
    public TimeSpan LateThreshold { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>Open loop: spin on the clock for this long before each due time instead of trusting a timer.</summary>
    public TimeSpan SpinWindow { get; init; }

    /// <summary>Open loop: requests allowed in flight at once; beyond it the schedule waits (and the wait shows as lateness).</summary>
    public int MaxInFlight { get; init; } = 10_000;

    /// <summary>Picks each request's model in a multi-model run; null sends every request to the one model.</summary>
    public ModelPicker? Models { get; init; }

    /// <summary>Seeds the Poisson schedule.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>
    /// Open loop: start each request on the thread pool, so the synchronous part of sending (taking a connection,
    /// writing the request) does not delay the next arrivals. Tests turn it off to keep every step on their thread.
    /// </summary>
    public bool DispatchOnThreadPool { get; init; } = true;

    /// <summary>Length of one time-series interval.</summary>
    public TimeSpan SampleInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The whole run's profile, warm-up included.</summary>
    public LoadProfile FullProfile => Profile.WithWarmup(Warmup, WarmupLevel);
}
