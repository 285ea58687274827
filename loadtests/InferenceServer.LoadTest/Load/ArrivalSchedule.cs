namespace InferenceServer.LoadTest.Load;

/// <summary>
/// The intended send times of an open-loop run, in seconds from its start. Arrival <c>n</c> is due when the integral
/// of the rate reaches <c>n</c> (constant spacing) or the sum of <c>n</c> unit exponential draws (Poisson) — so a
/// ramped rate is followed exactly, and a Poisson schedule is reproducible from its seed.
/// </summary>
internal sealed class ArrivalSchedule
{
    private readonly LoadProfile _profile;
    private readonly ArrivalProcess _process;
    private readonly Random _random;
    private double _area;
    private long _count;

    public ArrivalSchedule(LoadProfile profile, ArrivalProcess process, int seed = 1)
    {
        _profile = profile;
        _process = process;
        _random = new Random(seed);
    }

    /// <summary>Arrivals handed out so far.</summary>
    public long Count => _count;

    /// <summary>The next arrival's offset in seconds; false once the profile has ended.</summary>
    public bool TryNext(out double seconds)
    {
        if (_process == ArrivalProcess.Poisson)
        {
            // 1 - U lies in (0, 1], so the logarithm is finite.
            _area += -Math.Log(1 - _random.NextDouble());
        }
        var at = _profile.TimeOfArea(_area);
        if (_process == ArrivalProcess.Constant)
        {
            _area += 1;
        }
        if (at is null || at.Value >= _profile.Duration.TotalSeconds)
        {
            seconds = 0;
            return false;
        }
        seconds = at.Value;
        _count++;
        return true;
    }
}
