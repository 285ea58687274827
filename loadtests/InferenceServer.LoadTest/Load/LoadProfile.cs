namespace InferenceServer.LoadTest.Load;

/// <summary>
/// A load level over time (a request rate for open loop, a number of workers for closed loop), piecewise linear:
/// each <see cref="Stage"/> ramps from the previous level to its target. Open loop integrates the rate to place
/// arrivals: request <c>n</c> is due when the expected number of arrivals so far reaches <c>n</c>.
/// </summary>
internal sealed class LoadProfile
{
    private readonly double[] _startLevels;
    private readonly double[] _startSeconds;
    private readonly double[] _startAreas;
    private readonly Stage[] _stages;

    public LoadProfile(IReadOnlyList<Stage> stages, double initialLevel = 0)
    {
        if (stages.Count == 0)
        {
            throw new ArgumentException("a profile needs at least one stage", nameof(stages));
        }
        _stages = [.. stages];
        InitialLevel = initialLevel;
        _startLevels = new double[_stages.Length];
        _startSeconds = new double[_stages.Length];
        _startAreas = new double[_stages.Length];
        double level = initialLevel, seconds = 0, area = 0;
        for (var i = 0; i < _stages.Length; i++)
        {
            _startLevels[i] = level;
            _startSeconds[i] = seconds;
            _startAreas[i] = area;
            var d = _stages[i].Duration.TotalSeconds;
            area += (level + _stages[i].Target) / 2 * d;
            seconds += d;
            level = _stages[i].Target;
        }
        Duration = TimeSpan.FromSeconds(seconds);
        TotalArea = area;
        MaxLevel = Math.Max(initialLevel, _stages.Max(s => s.Target));
    }

    /// <summary>A constant level for <paramref name="duration"/>.</summary>
    public static LoadProfile Constant(double level, TimeSpan duration) => new([new Stage(duration, level)], level);

    public IReadOnlyList<Stage> Stages => _stages;

    /// <summary>The level before the first stage.</summary>
    public double InitialLevel { get; }

    /// <summary>
    /// This profile preceded by <paramref name="warmup"/> at <paramref name="level"/>; the profile then starts from its
    /// own initial level, as if the warm-up had not been there.
    /// </summary>
    public LoadProfile WithWarmup(TimeSpan warmup, double level) =>
        warmup <= TimeSpan.Zero ? this : new LoadProfile([new Stage(warmup, level), new Stage(TimeSpan.Zero, InitialLevel), .. _stages], level);

    public TimeSpan Duration { get; }

    /// <summary>The integral of the level over the whole profile (expected arrivals, for a rate).</summary>
    public double TotalArea { get; }

    public double MaxLevel { get; }

    /// <summary>The level <paramref name="seconds"/> into the profile (the last target after its end).</summary>
    public double LevelAt(double seconds)
    {
        var i = StageAt(seconds);
        if (i < 0)
        {
            return _stages[^1].Target;
        }
        var d = _stages[i].Duration.TotalSeconds;
        var into = seconds - _startSeconds[i];
        return d <= 0 ? _stages[i].Target : _startLevels[i] + ((_stages[i].Target - _startLevels[i]) * into / d);
    }

    /// <summary>The integral of the level from 0 to <paramref name="seconds"/>.</summary>
    public double AreaUntil(double seconds)
    {
        var i = StageAt(seconds);
        if (i < 0)
        {
            return TotalArea;
        }
        var into = seconds - _startSeconds[i];
        var a = _startLevels[i];
        var d = _stages[i].Duration.TotalSeconds;
        var slope = d <= 0 ? 0 : (_stages[i].Target - a) / d;
        return _startAreas[i] + (a * into) + (slope * into * into / 2);
    }

    /// <summary>
    /// The earliest time at which the integral of the level reaches <paramref name="area"/>, or null when the profile
    /// ends first. Inverts each stage's quadratic in a form that stays exact when the slope is tiny.
    /// </summary>
    public double? TimeOfArea(double area)
    {
        if (area > TotalArea || area < 0)
        {
            return null;
        }
        for (var i = 0; i < _stages.Length; i++)
        {
            var d = _stages[i].Duration.TotalSeconds;
            if (d <= 0)
            {
                continue;
            }
            var a = _startLevels[i];
            var b = _stages[i].Target;
            var stageArea = (a + b) / 2 * d;
            var remaining = area - _startAreas[i];
            if (remaining > stageArea && i < _stages.Length - 1)
            {
                continue;
            }
            if (a == 0 && b == 0)
            {
                continue;
            }
            var slope = (b - a) / d;
            // Solve a·t + slope·t²/2 = remaining for t ≥ 0, as 2r / (a + √(a² + 2·slope·r)).
            var root = Math.Sqrt(Math.Max(0, (a * a) + (2 * slope * remaining)));
            var t = remaining <= 0 ? 0 : 2 * remaining / (a + root);
            return _startSeconds[i] + Math.Min(t, d);
        }
        return null;
    }

    private int StageAt(double seconds)
    {
        for (var i = 0; i < _stages.Length; i++)
        {
            if (seconds < _startSeconds[i] + _stages[i].Duration.TotalSeconds)
            {
                return i;
            }
        }
        return -1;
    }
}
