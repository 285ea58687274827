using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using InferenceServer.LoadTest.ModelMix;
using InferenceServer.LoadTest.Targets;

namespace InferenceServer.LoadTest.Histograms;

/// <summary>
/// Everything recorded for one phase of a run (warm-up or measurement). Each thread records into its own
/// <see cref="RecorderShard"/>, so the hot path takes no lock and shares no cache line; the shards are merged when
/// the phase is reported. Errors are rarer and go to a shared table of counters by kind. A multi-model run also counts
/// per model (requests, successes, cold starts, errors), in shared counters: one increment per request is cheap next to
/// the request, and a shard per thread per model would be most of a megabyte for a few hundred models.
/// </summary>
internal sealed class Measurement : IDisposable
{
    private readonly ThreadLocal<RecorderShard> _shards = new(() => new RecorderShard(), trackAllValues: true);
    private readonly ConcurrentDictionary<ErrorKey, StrongBox<long>> _errors = new();
    private readonly ConcurrentDictionary<ErrorKey, string> _samples = new();
    private readonly long _lateThresholdNanoseconds;
    private readonly long[] _modelRequests;
    private readonly long[] _modelSuccesses;
    private readonly long[] _modelColdStarts;
    private readonly long[] _modelErrors;

    public Measurement(TimeSpan lateThreshold, int models = 1)
    {
        _lateThresholdNanoseconds = (long)(lateThreshold.TotalMilliseconds * 1_000_000);
        // One model needs no table: the totals are its counts.
        var counted = models > 1 ? models : 0;
        _modelRequests = new long[counted];
        _modelSuccesses = new long[counted];
        _modelColdStarts = new long[counted];
        _modelErrors = new long[counted];
    }

    /// <summary>The calling thread's shard.</summary>
    public RecorderShard Shard => _shards.Value!;

    /// <summary>Every shard so far (for the sampler and the final merge).</summary>
    public IList<RecorderShard> Shards => _shards.Values;

    /// <summary>A request to <paramref name="model"/> started <paramref name="latenessNanoseconds"/> after its intended time (0 in closed loop).</summary>
    public void RecordStart(long latenessNanoseconds, bool openLoop, int model = 0)
    {
        var shard = Shard;
        shard.Sent++;
        Count(_modelRequests, model);
        if (openLoop)
        {
            shard.Lateness.Record(latenessNanoseconds);
            if (latenessNanoseconds > _lateThresholdNanoseconds)
            {
                shard.Late++;
            }
        }
    }

    /// <summary>A success; <paramref name="coldStartMs"/> is the server's cold-start wait when it loaded the model for this request.</summary>
    public void RecordSuccess(long latencyNanoseconds, double? coldStartMs = null, int model = 0)
    {
        var shard = Shard;
        shard.Latency.Record(latencyNanoseconds);
        Count(_modelSuccesses, model);
        if (coldStartMs is null)
        {
            shard.Warm.Record(latencyNanoseconds);
        }
        else
        {
            shard.Cold.Record(latencyNanoseconds);
            Count(_modelColdStarts, model);
        }
    }

    /// <summary>A successful response arrived inside the measured window.</summary>
    public void RecordWindowSuccess() => Shard.WindowSuccesses++;

    public void RecordError(ErrorKey error, string? detail, int model = 0)
    {
        Shard.Errors++;
        Count(_modelErrors, model);
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

    /// <summary>Per model, in <paramref name="names"/>' order; empty for a single-model run.</summary>
    public IReadOnlyList<ModelCount> ModelCounts(IReadOnlyList<string> names)
    {
        var counts = new List<ModelCount>(_modelRequests.Length);
        for (var m = 0; m < _modelRequests.Length && m < names.Count; m++)
        {
            counts.Add(new ModelCount(names[m], Interlocked.Read(ref _modelRequests[m]), Interlocked.Read(ref _modelSuccesses[m]),
                Interlocked.Read(ref _modelColdStarts[m]), Interlocked.Read(ref _modelErrors[m])));
        }
        return counts;
    }

    /// <summary>Warm and cold latencies merged over every shard (call once the phase's requests have all completed).</summary>
    public (LatencyHistogram Warm, LatencyHistogram Cold) MergeWarmCold()
    {
        var warm = new LatencyHistogram();
        var cold = new LatencyHistogram();
        foreach (var shard in _shards.Values)
        {
            warm.Add(shard.Warm);
            cold.Add(shard.Cold);
        }
        return (warm, cold);
    }

    private static void Count(long[] counters, int model)
    {
        if ((uint)model < (uint)counters.Length)
        {
            Interlocked.Increment(ref counters[model]);
        }
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
