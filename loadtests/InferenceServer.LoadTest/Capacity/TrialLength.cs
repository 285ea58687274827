using InferenceServer.LoadTest.Sla;

namespace InferenceServer.LoadTest.Capacity;

/// <summary>
/// How long a capacity trial runs. A percentile is only as good as the samples past it: p99 over 500 requests rests on
/// the 5 slowest, and one stalled moment of a busy machine decides it. A full trial therefore gathers
/// <see cref="TailSamples"/> successes past the SLA's highest percentile (10,000 for p99, 100,000 for p99.9); a
/// scouting trial, which only looks for the bracket, a tenth of that. Either is at least the minimum duration and at
/// most the maximum, whatever the rate.
/// <para>
/// A full trial also lasts long enough that one stall of the machine cannot decide its percentile. A stall of
/// <c>s</c> seconds delays every request due in it, about <c>s × rate</c> of the <c>T × rate</c> requests of the trial,
/// so it fails p99 when <c>s</c> exceeds 1% of <c>T</c>, whatever the rate: in a 5 s trial a 50 ms hiccup of a shared
/// machine is enough, and trials at any rate fail at random. Full trials therefore last at least
/// <see cref="StallTolerance"/> divided by the tail's share (20 s for p99), up to the maximum duration.
/// </para>
/// </summary>
internal static class TrialLength
{
    /// <summary>Successes wanted past the percentile in a full trial.</summary>
    public const int TailSamples = 100;

    /// <summary>The longest stall of the machine a full trial's percentile absorbs (while the maximum duration allows).</summary>
    public static readonly TimeSpan StallTolerance = TimeSpan.FromMilliseconds(200);

    /// <summary>The percentile an SLA on the maximum is sized as (a maximum has no tail to fill).</summary>
    public const double MaxAsPercentile = 99.9;

    /// <summary>The successes a full trial needs for <paramref name="sla"/>: 0 when it asserts no percentile.</summary>
    public static long SamplesFor(IReadOnlyList<SlaAssertion> sla)
    {
        double highest = 0;
        foreach (var assertion in sla)
        {
            var percentile = assertion.Metric switch
            {
                SlaMetric.Percentile => assertion.Percentile,
                SlaMetric.Max => MaxAsPercentile,
                _ => 0,
            };
            highest = Math.Max(highest, Math.Min(percentile, MaxAsPercentile));
        }
        // Rounded first: 100 / (1 - 0.999) is 100,000.0000001 in binary floating point.
        return highest <= 0 ? 0 : (long)Math.Ceiling(Math.Round(TailSamples / (1 - (highest / 100)), 6));
    }

    /// <summary>
    /// The measured length of a full trial at <paramref name="rate"/> for an SLA that wants <paramref name="samples"/>
    /// successes (<see cref="SamplesFor"/>): long enough for the samples and for <see cref="StallTolerance"/>.
    /// </summary>
    public static TimeSpan FullDuration(double rate, long samples, TimeSpan minimum, TimeSpan maximum)
    {
        // samples / TailSamples is 1 / (1 - percentile): the trial whose tail lasts StallTolerance.
        var stallProof = samples == 0 ? TimeSpan.Zero : StallTolerance * (samples / (double)TailSamples);
        var floor = stallProof > minimum ? stallProof : minimum;
        return Duration(rate, samples, floor < maximum ? floor : maximum, maximum);
    }

    /// <summary>The measured length of a trial at <paramref name="rate"/> that wants <paramref name="samples"/> successes.</summary>
    public static TimeSpan Duration(double rate, long samples, TimeSpan minimum, TimeSpan maximum)
    {
        var needed = TimeSpan.FromSeconds(samples / rate);
        return needed < minimum ? minimum : needed > maximum ? maximum : needed;
    }
}
