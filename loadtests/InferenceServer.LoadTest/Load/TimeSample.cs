namespace InferenceServer.LoadTest.Load;

/// <summary>
/// One interval of the run's time series. <see cref="Seconds"/> is the interval's end, from the start of the
/// measurement (negative during warm-up); latencies are in milliseconds and cover the requests answered within it.
/// </summary>
internal sealed record TimeSample(
    double Seconds,
    bool Warmup,
    double IntervalSeconds,
    long Successes,
    long Errors,
    long Sent,
    double Throughput,
    double SendRate,
    double P50Ms,
    double P90Ms,
    double P99Ms,
    double MaxMs,
    long InFlight,
    double TargetLevel);
