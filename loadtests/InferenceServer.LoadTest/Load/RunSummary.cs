using Grpc.Core;
using InferenceServer.LoadTest.Histograms;
using InferenceServer.LoadTest.ModelMix;
using InferenceServer.LoadTest.Targets;

namespace InferenceServer.LoadTest.Load;

/// <summary>The measured phase of one run, merged from every thread's shard.</summary>
internal sealed class RunSummary
{
    public required LoadMode Mode { get; init; }

    /// <summary>Latency of successful requests (ns).</summary>
    public required LatencyHistogram Latency { get; init; }

    /// <summary>Open loop: how late requests started against their intended times (ns).</summary>
    public required LatencyHistogram Lateness { get; init; }

    /// <summary>Latency of the successes whose model was loaded already (ns); all of them when the server reports no cold starts.</summary>
    public LatencyHistogram Warm { get; init; } = new();

    /// <summary>Latency of the successes that waited for their model to load (ns): the server said so in <c>Inference-Cold-Start-Ms</c>.</summary>
    public LatencyHistogram Cold { get; init; } = new();

    /// <summary>A multi-model run's counts per model, in the order listed (the Zipf rank); empty for one model.</summary>
    public IReadOnlyList<ModelCount> PerModel { get; init; } = [];

    public required long Sent { get; init; }

    public required long Errors { get; init; }

    public required long Late { get; init; }

    /// <summary>Successful responses that arrived inside the measured window (from either phase), for throughput.</summary>
    public required long WindowSuccesses { get; init; }

    public required IReadOnlyList<ErrorCount> ErrorsByKind { get; init; }

    /// <summary>Length of the measured window in seconds.</summary>
    public required double Seconds { get; init; }

    public required IReadOnlyList<TimeSample> TimeSeries { get; init; }

    /// <summary>Requests of the warm-up (not in the figures).</summary>
    public long WarmupRequests { get; init; }

    /// <summary>Open loop: the rate asked for, averaged over the measured window.</summary>
    public double? IntendedRate { get; init; }

    public TimeSpan LateThreshold { get; init; }

    /// <summary>Whether the run was cut short (Ctrl+C).</summary>
    public bool Interrupted { get; init; }

    public long Successes => Latency.Count;

    /// <summary>Requests that ended (succeeded or failed).</summary>
    public long Completed => Successes + Errors;

    /// <summary>
    /// Successful responses per second that arrived within the measured window. Not the window's requests over its
    /// length: when the server or the generator falls behind, requests of the window are answered after it, and
    /// counting them would report the rate asked for rather than the rate served.
    /// </summary>
    public double Throughput => Seconds <= 0 ? 0 : WindowSuccesses / Seconds;

    /// <summary>Requests started per second over the measured window.</summary>
    public double SendRate => Seconds <= 0 ? 0 : Sent / Seconds;

    public double ErrorShare => Completed == 0 ? 0 : Errors / (double)Completed;

    public double LateShare => Sent == 0 ? 0 : Late / (double)Sent;

    /// <summary>Successes answered after a cold start.</summary>
    public long ColdStarts => Cold.Count;

    /// <summary>
    /// Requests refused because their model could not be loaded in time: HTTP 503 or gRPC UNAVAILABLE, which an on-demand
    /// server answers when the cold-start queue is full or its deadline passes (with Retry-After). Counted apart from the
    /// other failures, which a many-model run should have none of.
    /// </summary>
    public long ColdStartDeadlineMisses
    {
        get
        {
            long misses = 0;
            foreach (var error in ErrorsByKind)
            {
                if (error.Kind == ErrorKey.Http(503) || error.Kind == ErrorKey.Grpc(StatusCode.Unavailable))
                {
                    misses += error.Count;
                }
            }
            return misses;
        }
    }

    /// <summary>
    /// Share of requests whose model was loaded when they came: warm successes over every success and cold-start deadline
    /// miss (a miss wanted a model that was not there). Other failures say nothing about the cache and are left out.
    /// </summary>
    public double HitRate
    {
        get
        {
            var wanted = Warm.Count + ColdStarts + ColdStartDeadlineMisses;
            return wanted == 0 ? 0 : Warm.Count / (double)wanted;
        }
    }

    /// <summary>A latency percentile in milliseconds.</summary>
    public double PercentileMs(double percentile) => Latency.ValueAtPercentile(percentile) / 1e6;
}
