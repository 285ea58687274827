namespace InferenceServer.LoadTest.Load;

/// <summary>What the live display shows once per interval: where the run is and how the last interval went.</summary>
internal sealed record ProgressSnapshot(
    LoadMode Mode,
    double ElapsedSeconds,
    double TotalSeconds,
    bool Warmup,
    double TargetLevel,
    double SendRate,
    double Throughput,
    double P99Ms,
    long Successes,
    long Errors,
    long Late,
    long InFlight);
