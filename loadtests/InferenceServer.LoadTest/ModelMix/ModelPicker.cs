namespace InferenceServer.LoadTest.ModelMix;

/// <summary>
/// Picks the model of each request from its sequence number: the same seed and sequence always give the same model,
/// whichever thread asks and in whatever order, so a run's traffic is reproducible and picking takes no lock. The
/// sequence is hashed to a uniform number in [0, 1), which is looked up in the distribution's cumulative shares.
/// </summary>
internal sealed class ModelPicker
{
    private readonly double[] _cumulative;
    private readonly ulong _seed;

    public ModelPicker(int count, ModelDistribution distribution, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        Distribution = distribution;
        _cumulative = new double[count];
        double total = 0;
        for (var i = 0; i < count; i++)
        {
            total += distribution.Weight(i);
            _cumulative[i] = total;
        }
        for (var i = 0; i < count; i++)
        {
            _cumulative[i] /= total;
        }
        // Rounding may leave the last share a hair under 1; a draw must always land on a model.
        _cumulative[^1] = 1;
        // Mixed so that seeds 1 and 2 do not give sequences that are shifts of one another.
        _seed = Mix((ulong)seed ^ 0x5851F42D4C957F2DUL);
    }

    public int Count => _cumulative.Length;

    public ModelDistribution Distribution { get; }

    /// <summary>The expected share of model <paramref name="index"/>.</summary>
    public double Share(int index) => _cumulative[index] - (index == 0 ? 0 : _cumulative[index - 1]);

    /// <summary>The model of request <paramref name="sequence"/>.</summary>
    public int Pick(long sequence)
    {
        if (_cumulative.Length == 1)
        {
            return 0;
        }
        // 53 random bits: every double in [0, 1) this can make is exact.
        var uniform = (Mix(_seed + (ulong)sequence) >> 11) * (1.0 / (1UL << 53));
        var index = Array.BinarySearch(_cumulative, uniform);
        // Not found: the complement is the first share above the draw, the model whose interval holds it. Found (a
        // draw exactly on a boundary): the interval is half-open, so it belongs to the next model.
        index = index < 0 ? ~index : index + 1;
        return Math.Min(index, _cumulative.Length - 1);
    }

    // SplitMix64's finalizer: a cheap, well-mixed 64-bit hash.
    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
