namespace InferenceServer.Core.Routing;

/// <summary>
/// The weights a route's variants have now, by variant index: one immutable <see cref="WeightWindow"/> replaced whole,
/// so a request reads one consistent set and a change (a rollout step, a rollback) applies to every variant at once
/// and opens a new window of counts. Starts from the declaration's weights; only a rollout changes them, and a changed
/// declaration starts again from its own.
/// </summary>
internal sealed class RouteWeights
{
    private WeightWindow _window;

    public RouteWeights(uint[] initial) => _window = new WeightWindow(initial);

    /// <summary>The weights now; the array behind it is never changed, so a reader keeps a consistent set.</summary>
    public ReadOnlySpan<uint> Current => Volatile.Read(ref _window).Weights;

    /// <summary>The weights now with the requests routed since they were set.</summary>
    public WeightWindow Window => Volatile.Read(ref _window);

    /// <summary>Replaces every weight at once, opening a new window.</summary>
    /// <exception cref="ArgumentException"><paramref name="weights"/> has not one weight per variant.</exception>
    public void Set(ReadOnlySpan<uint> weights)
    {
        var length = Current.Length;
        if (weights.Length != length)
        {
            throw new ArgumentException($"the route has {length} variants; {weights.Length} weights were given", nameof(weights));
        }
        Volatile.Write(ref _window, new WeightWindow(weights.ToArray()));
    }

    /// <summary>Changes the weight of one variant, atomically with respect to other changes, opening a new window.</summary>
    public void Set(int variant, uint weight)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(variant);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(variant, Current.Length);
        while (true)
        {
            var seen = Volatile.Read(ref _window);
            var next = seen.Weights.ToArray();
            next[variant] = weight;
            if (Interlocked.CompareExchange(ref _window, new WeightWindow(next), seen) == seen)
            {
                return;
            }
        }
    }
}
