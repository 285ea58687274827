namespace InferenceServer.LoadTest.Capacity;

/// <summary>
/// The outcome of a capacity search. The capacity lies between <see cref="MaxRate"/> (the highest rate judged to pass,
/// null when none did) and <see cref="LowestFailingRate"/> (the lowest judged to fail, null when every rate tried
/// passed): that interval is the answer's uncertainty.
/// </summary>
internal sealed record CapacityResult(double? MaxRate, double? LowestFailingRate, IReadOnlyList<CapacityTrial> Trials, string StopReason)
{
    /// <summary>Whether <see cref="MaxRate"/> passed at least twice in full trials (the repeated trial at the boundary).</summary>
    public bool Confirmed { get; init; }

    /// <summary>Rates whose trials disagreed (one passed, another failed): the machine or the server was noisy there.</summary>
    public IReadOnlyList<double> NoisyRates { get; init; } = [];

    /// <summary>Half the interval's width relative to its middle, e.g. 0.024 for ±2.4%; null without both ends.</summary>
    public double? Uncertainty => MaxRate is { } low && LowestFailingRate is { } high ? (high - low) / (high + low) : null;
}
