using HdrHistogram;

namespace InferenceServer.Core.Routing.Rollouts;

/// <summary>
/// One variant's requests over a rollout step: how many, how many failed, and the latencies of those that succeeded,
/// recorded from every request thread without a lock and read by the rollout's evaluation every second.
/// </summary>
/// <remarks>
/// Latencies go into an HdrHistogram <see cref="Recorder"/> over concurrent histograms: writers never wait, and a reader
/// takes what was recorded since its previous read (the recorder flips between two histograms) and adds it to the
/// step's total, under a lock only readers take. Only successes are timed: a failure's latency says how fast it
/// failed, not how fast the variant serves, and failures are judged by the error gate.
/// </remarks>
internal sealed class VariantWindow
{
    /// <summary>The longest latency told apart, in microseconds (one hour); longer ones count as this.</summary>
    public const long HighestMicroseconds = 3_600_000_000;

    // Two digits: a percentile within 1%, ample for a ratio gate of 1.5, and a small histogram per variant.
    private const int SignificantDigits = 2;

    private readonly Recorder _recorder = new(1, HighestMicroseconds, SignificantDigits,
        static (id, lowest, highest, digits) => new LongConcurrentHistogram(id, lowest, highest, digits));

    // Everything recorded in the step; the reader's, under the lock.
    private readonly LongHistogram _step = new(1, HighestMicroseconds, SignificantDigits);
    private readonly Lock _readLock = new();
    private HistogramBase? _recycled;
    private long _requests;
    private long _failures;

    /// <summary>Counts one request; any thread, lock-free.</summary>
    public void Record(bool succeeded, TimeSpan latency)
    {
        Interlocked.Increment(ref _requests);
        if (!succeeded)
        {
            Interlocked.Increment(ref _failures);
            return;
        }
        _recorder.RecordValue(Math.Clamp(latency.Ticks / TimeSpan.TicksPerMicrosecond, 0, HighestMicroseconds));
    }

    /// <summary>The step's figures so far.</summary>
    public VariantWindowSnapshot Snapshot()
    {
        lock (_readLock)
        {
            var interval = _recorder.GetIntervalHistogram(_recycled);
            _recycled = interval;
            _step.Add(interval);
            var samples = _step.TotalCount;
            // Failures first: a failure is counted after its request, so the failures read never exceed the requests.
            var failures = Volatile.Read(ref _failures);
            return new VariantWindowSnapshot(
                Volatile.Read(ref _requests),
                failures,
                samples,
                samples == 0 ? 0 : Milliseconds(_step.GetValueAtPercentile(50)),
                samples == 0 ? 0 : Milliseconds(_step.GetValueAtPercentile(99)));
        }
    }

    /// <summary>
    /// Starts a new step: forgets everything recorded. A request finishing while this runs may count in either step,
    /// or its count in one and its latency in the other; a step is judged on hundreds of requests.
    /// </summary>
    public void Reset()
    {
        lock (_readLock)
        {
            _recorder.Reset();
            _step.Reset();
            Interlocked.Exchange(ref _requests, 0);
            Interlocked.Exchange(ref _failures, 0);
        }
    }

    private static double Milliseconds(long microseconds) => microseconds / 1000.0;
}
