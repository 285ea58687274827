namespace InferenceServer.Core.Routing;

/// <summary>
/// One set of a route's weights and the requests they routed while they were in force: the window a sample-ratio
/// check judges. A rollout step, a rollback or a promotion puts new weights in force, and with them a new window, so
/// the observed split is always compared with the weights that produced it, never with a mix of earlier steps.
/// </summary>
internal sealed class WeightWindow
{
    private readonly uint[] _weights;
    private readonly long[] _requests;

    /// <param name="weights">The weights, by variant index; owned by the window from now on and never changed.</param>
    public WeightWindow(uint[] weights)
    {
        _weights = weights;
        _requests = new long[weights.Length];
    }

    /// <summary>The weights in force in this window, by variant index.</summary>
    public ReadOnlySpan<uint> Weights => _weights;

    /// <summary>The requests these weights (or a routing key under them) sent to <paramref name="variant"/>.</summary>
    public long Requests(int variant) => Interlocked.Read(ref _requests[variant]);

    /// <summary>Counts one request routed to <paramref name="variant"/> under these weights. Any thread.</summary>
    public void Count(int variant) => Interlocked.Increment(ref _requests[variant]);
}
