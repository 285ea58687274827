namespace InferenceServer.Core.Routing;

/// <summary>
/// The weights a route's variants have now, by variant index: one immutable array replaced whole, so a request reads
/// one consistent set and a change (a rollout step, a rollback) applies to every variant at once. Starts from the
/// declaration's weights; only a rollout changes them, and a changed declaration starts again from its own.
/// </summary>
internal sealed class RouteWeights
{
    private uint[] _current;

    public RouteWeights(uint[] initial) => _current = initial;

    /// <summary>The weights now; the array behind it is never changed, so a reader keeps a consistent set.</summary>
    public ReadOnlySpan<uint> Current => Volatile.Read(ref _current);

    /// <summary>Replaces every weight at once.</summary>
    /// <exception cref="ArgumentException"><paramref name="weights"/> has not one weight per variant.</exception>
    public void Set(ReadOnlySpan<uint> weights)
    {
        if (weights.Length != _current.Length)
        {
            throw new ArgumentException($"the route has {_current.Length} variants; {weights.Length} weights were given", nameof(weights));
        }
        Volatile.Write(ref _current, weights.ToArray());
    }

    /// <summary>Changes the weight of one variant, atomically with respect to other changes.</summary>
    public void Set(int variant, uint weight)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(variant);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(variant, _current.Length);
        while (true)
        {
            var seen = Volatile.Read(ref _current);
            var next = (uint[])seen.Clone();
            next[variant] = weight;
            if (Interlocked.CompareExchange(ref _current, next, seen) == seen)
            {
                return;
            }
        }
    }
}
