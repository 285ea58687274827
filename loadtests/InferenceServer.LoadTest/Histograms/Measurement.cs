using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using InferenceServer.LoadTest.Targets;

namespace InferenceServer.LoadTest.Histograms;

/// <summary>
/// Everything recorded for one phase of a run (warm-up or measurement). Each thread records into its own
/// <see cref="RecorderShard"/>, so the hot path takes no lock and shares no cache line; the shards are merged when
/// the phase is reported. Errors are rarer and go to a shared table of counters by kind.
/// </summary>
internal sealed class Measurement : IDisposable
{
    private readonly ThreadLocal<RecorderShard> _shards = new(() => new RecorderShard(), trackAllValues: true);
    private readonly ConcurrentDictionary<ErrorKey, StrongBox<long>> _errors = new();
    private readonly ConcurrentDictionary<ErrorKey, string> _samples = new();
    private readonly long _lateThresholdNanoseconds;

    public Measurement(TimeSpan lateThreshold) => _lateThresholdNanoseconds = (long)(lateThreshold.TotalMilliseconds * 1_000_000);

    /// <summary>The calling thread's shard.</summary>
    public RecorderShard Shard => _shards.Value!;

    /// <summary>Every shard so far (for the sampler and the final merge).</summary>
    public IList<RecorderShard> Shards => _shards.Values;

    /// <summary>A request started <paramref name="latenessNanoseconds"/> after its intended time (0 in closed loop).</summary>
    public void RecordStart(long latenessNanoseconds, bool openLoop)
    {
        var shard = Shard;
        shard.Sent++;
        if (openLoop)
        {
            shard.Lateness.Record(latenessNanoseconds);
            if (latenessNanoseconds > _lateThresholdNanoseconds)
            {
                shard.Late++;
            }
        }
    }

    public void RecordSuccess(long latencyNanoseconds) => Shard.Latency.Record(latencyNanoseconds);

    /// <summary>A successful response arrived inside the measured window.</summary>
    public void RecordWindowSuccess() => Shard.WindowSuccesses++;

    public void RecordError(ErrorKey error, string? detail)
    {
        Shard.Errors++;
        if (!_errors.TryGetValue(error, out var counter))
        {
            counter = _errors.GetOrAdd(error, static _ => new StrongBox<long>());
        }
        Interlocked.Increment(ref counter.Value);
        if (detail is not null && !_samples.ContainsKey(error))
        {
            _samples.TryAdd(error, detail.Length > 300 ? detail[..300] + "…" : detail);
        }
    }

    /// <summary>Error counts by kind, with the first message seen of each.</summary>
    public IReadOnlyList<ErrorCount> ErrorCounts()
    {
        var counts = new List<ErrorCount>();
        foreach (var (key, counter) in _errors)
        {
            counts.Add(new ErrorCount(key, Interlocked.Read(ref counter.Value), _samples.GetValueOrDefault(key)));
        }
        counts.Sort((a, b) => b.Count.CompareTo(a.Count));
        return counts;
    }

    /// <summary>Merges every shard (call once the phase's requests have all completed).</summary>
    public (LatencyHistogram Latency, LatencyHistogram Lateness, long Sent, long Late, long Errors, long WindowSuccesses) Merge()
    {
        var latency = new LatencyHistogram();
        var lateness = new LatencyHistogram();
        long sent = 0, late = 0, errors = 0, window = 0;
        foreach (var shard in _shards.Values)
        {
            latency.Add(shard.Latency.Total());
            lateness.Add(shard.Lateness);
            sent += shard.Sent;
            late += shard.Late;
            errors += shard.Errors;
            window += shard.WindowSuccesses;
        }
        return (latency, lateness, sent, late, errors, window);
    }

    public void Dispose() => _shards.Dispose();
}
