namespace InferenceServer.LoadTest.Histograms;

/// <summary>
/// What one thread records: written only by its owner thread (plain increments), read by the sampler for interval
/// deltas and merged at the end. The <c>Seen…</c> fields belong to the sampler alone.
/// </summary>
internal sealed class RecorderShard
{
    /// <summary>Latency of successful requests, from intended start to the end of the response.</summary>
    public LatencyRecorder Latency { get; } = new();

    /// <summary>Latency of the successes whose model was already loaded (no cold-start wait reported).</summary>
    public LatencyHistogram Warm { get; } = new();

    /// <summary>Latency of the successes that waited for their model to load.</summary>
    public LatencyHistogram Cold { get; } = new();

    /// <summary>Open loop: how late each request started against its intended time.</summary>
    public LatencyHistogram Lateness { get; } = new();

    /// <summary>Requests started.</summary>
    public long Sent;

    /// <summary>Requests that started later than the late threshold.</summary>
    public long Late;

    /// <summary>Requests that failed.</summary>
    public long Errors;

    /// <summary>Successful responses that arrived inside the measured window, whichever phase sent them (throughput).</summary>
    public long WindowSuccesses;

    // The sampler's view of this shard at its previous tick.
    internal long SeenSent;
    internal long SeenErrors;
}
