using Prometheus;

namespace InferenceServer.Core.Monitoring;

/// <summary>One route's series in <see cref="RoutingMetrics"/>, by variant index, resolved once per route runtime.</summary>
internal sealed class RouteSeries
{
    private readonly Counter.Child[] _requests;
    private readonly Counter.Child[] _failures;
    private readonly Histogram.Child[] _duration;

    public RouteSeries(RoutingMetrics metrics, string route, IReadOnlyList<string> variants)
    {
        _requests = new Counter.Child[variants.Count];
        _failures = new Counter.Child[variants.Count];
        _duration = new Histogram.Child[variants.Count];
        for (var i = 0; i < variants.Count; i++)
        {
            _requests[i] = metrics.Requests.WithLabels(route, variants[i]);
            _failures[i] = metrics.Failures.WithLabels(route, variants[i]);
            _duration[i] = metrics.Duration.WithLabels(route, variants[i]);
        }
    }

    /// <summary>Shows every variant's counters at zero until its first request.</summary>
    public void Publish()
    {
        for (var i = 0; i < _requests.Length; i++)
        {
            _requests[i].Publish();
            _failures[i].Publish();
            _duration[i].Publish();
        }
    }

    /// <summary>Counts one request variant <paramref name="variant"/> answered (or failed) after <paramref name="elapsed"/>.</summary>
    public void Record(int variant, bool succeeded, TimeSpan elapsed)
    {
        _requests[variant].Inc();
        if (succeeded)
        {
            _duration[variant].Observe(Math.Max(0, elapsed.TotalMicroseconds));
        }
        else
        {
            _failures[variant].Inc();
        }
    }
}
