using System.Globalization;

namespace InferenceServer.LoadTest.Capacity;

/// <summary>
/// Finds the highest open-loop rate that meets an SLA, robustly on a noisy machine. Double the rate from a start until
/// one fails (halve when the first fails), then bisect between the best passing and the lowest failing rate until they
/// are within the precision of each other.
/// <list type="bullet">
/// <item>A failure counts only when repeated: another process's burst can stall one trial, and a single stalled moment
/// decides a tail percentile. A failed trial is run again; when the two disagree a third decides.</item>
/// <item>Scouting trials (before a bracket exists) are short; bisection and repeats are full trials, long enough for the
/// SLA's percentile (<see cref="TrialLength"/>).</item>
/// <item>Both ends of the final bracket are tried again: the answer has passed two full trials, and the rate above it
/// has failed three of up to five.</item>
/// <item>The answer is the interval between the best passing and the lowest failing rate.</item>
/// </list>
/// Each trial is run by the caller, so the search itself is plain arithmetic and tested without a server.
/// </summary>
internal sealed class MaxRateSearch
{
    /// <summary>Below this the search gives up: nothing useful passes.</summary>
    public const double MinRate = 1;

    /// <summary>Full passes the reported rate needs.</summary>
    public const int PassesToConfirm = 2;

    /// <summary>Failures the lowest failing rate needs before the bracket stands (of at most five trials).</summary>
    public const int FailuresToConfirm = 3;

    private readonly double _startRate;
    private readonly double _maxRate;
    private readonly double _precision;
    private readonly int _maxTrials;
    private readonly Func<double, bool, Task<CapacityTrial>> _runTrial;
    private readonly CancellationToken _cancellationToken;
    private readonly List<CapacityTrial> _trials = [];
    // Each rate's verdict once judged: true passes, false fails.
    private readonly Dictionary<double, bool> _verdicts = [];
    private string? _stopReason;

    private MaxRateSearch(double startRate, double maxRate, double precision, int maxTrials, Func<double, bool, Task<CapacityTrial>> runTrial, CancellationToken cancellationToken)
    {
        _startRate = Math.Min(startRate, maxRate);
        _maxRate = maxRate;
        _precision = precision;
        _maxTrials = maxTrials;
        _runTrial = runTrial;
        _cancellationToken = cancellationToken;
    }

    /// <summary>Runs the search; <paramref name="runTrial"/> runs one trial at a rate, full (true) or scouting (false).</summary>
    public static Task<CapacityResult> SearchAsync(double startRate, double maxRate, double precision, int maxTrials,
        Func<double, bool, Task<CapacityTrial>> runTrial, CancellationToken cancellationToken) =>
        new MaxRateSearch(startRate, maxRate, precision, maxTrials, runTrial, cancellationToken).RunAsync();

    private async Task<CapacityResult> RunAsync()
    {
        double best = 0;
        var lowestFailing = double.PositiveInfinity;
        while (_stopReason is null)
        {
            if (double.IsPositiveInfinity(lowestFailing) && best >= _maxRate)
            {
                _stopReason = $"every rate passed up to --max-rate {Format(_maxRate)}";
                break;
            }
            if (best == 0 && lowestFailing / 2 < MinRate)
            {
                _stopReason = $"no rate from {Format(MinRate)}/s up meets the SLA";
                break;
            }
            if (best > 0 && !double.IsPositiveInfinity(lowestFailing) && lowestFailing - best <= _precision * lowestFailing)
            {
                // Bracketed. Both ends are tried again before the answer stands: the best passing rate must pass two full
                // trials (failing two demotes it), and the lowest failing rate must fail three of its trials (passing
                // three lifts it: a stalled machine, not the server, failed it).
                if (FullPasses(best) < PassesToConfirm)
                {
                    if (await RunAsync(best, full: true).ConfigureAwait(false) is null)
                    {
                        break;
                    }
                    if (FullFailures(best) >= PassesToConfirm)
                    {
                        _verdicts[best] = false;
                        lowestFailing = best;
                        best = BestPassingBelow(lowestFailing);
                    }
                    continue;
                }
                if (Failures(lowestFailing) < FailuresToConfirm)
                {
                    if (await RunAsync(lowestFailing, full: true).ConfigureAwait(false) is null)
                    {
                        break;
                    }
                    if (Trials(lowestFailing) - Failures(lowestFailing) >= FailuresToConfirm)
                    {
                        _verdicts[lowestFailing] = true;
                        best = lowestFailing;
                        lowestFailing = LowestFailingAbove(best);
                    }
                    continue;
                }
                _stopReason = $"bracketed within {Format(_precision * 100)}%: {Format(best)}/s passed {FullPasses(best)} of {FullTrials(best)} full trials, "
                    + $"{Format(lowestFailing)}/s failed {Failures(lowestFailing)} of {Trials(lowestFailing)}";
                break;
            }

            var scouting = double.IsPositiveInfinity(lowestFailing) || best == 0;
            var rate = double.IsPositiveInfinity(lowestFailing) ? (best == 0 ? _startRate : Math.Min(best * 2, _maxRate))
                : best == 0 ? lowestFailing / 2
                : (best + lowestFailing) / 2;
            if (await JudgeAsync(rate, full: !scouting).ConfigureAwait(false) is not { } passed)
            {
                break;
            }
            if (passed)
            {
                best = Math.Max(best, rate);
            }
            else
            {
                lowestFailing = Math.Min(lowestFailing, rate);
                if (best >= lowestFailing)
                {
                    best = BestPassingBelow(lowestFailing);
                }
            }
        }

        var noisy = new List<double>();
        foreach (var rate in _verdicts.Keys)
        {
            if (Failures(rate) > 0 && Failures(rate) < Trials(rate))
            {
                noisy.Add(rate);
            }
        }
        noisy.Sort();
        return new CapacityResult(best > 0 ? best : null, double.IsPositiveInfinity(lowestFailing) ? null : lowestFailing, _trials, _stopReason!)
        {
            Confirmed = best > 0 && FullPasses(best) >= PassesToConfirm,
            NoisyRates = noisy,
        };
    }

    // A pass counts at once; a failure only when a second trial agrees, a third deciding when they differ. Null when the
    // search has to stop (budget, interruption).
    private async Task<bool?> JudgeAsync(double rate, bool full)
    {
        if (await RunAsync(rate, full).ConfigureAwait(false) is not { } first)
        {
            return null;
        }
        var verdict = first.Passed;
        if (!verdict)
        {
            if (await RunAsync(rate, full: true).ConfigureAwait(false) is not { } second)
            {
                return null;
            }
            verdict = second.Passed;
            if (verdict)
            {
                if (await RunAsync(rate, full: true).ConfigureAwait(false) is not { } third)
                {
                    return null;
                }
                verdict = third.Passed;
            }
        }
        _verdicts[rate] = verdict;
        return verdict;
    }

    private async Task<CapacityTrial?> RunAsync(double rate, bool full)
    {
        if (_cancellationToken.IsCancellationRequested)
        {
            _stopReason = "interrupted";
            return null;
        }
        if (_trials.Count >= _maxTrials)
        {
            _stopReason = $"stopped after {_maxTrials} trials";
            return null;
        }
        var trial = await _runTrial(rate, full).ConfigureAwait(false);
        _trials.Add(trial);
        if (_cancellationToken.IsCancellationRequested)
        {
            // Cut short, it failed for want of time, not of capacity: listed, but no verdict rests on it.
            _stopReason = "interrupted";
            return null;
        }
        return trial;
    }

    private double BestPassingBelow(double rate)
    {
        double best = 0;
        foreach (var (candidate, passed) in _verdicts)
        {
            if (passed && candidate < rate)
            {
                best = Math.Max(best, candidate);
            }
        }
        return best;
    }

    private double LowestFailingAbove(double rate)
    {
        var lowest = double.PositiveInfinity;
        foreach (var (candidate, passed) in _verdicts)
        {
            if (!passed && candidate > rate)
            {
                lowest = Math.Min(lowest, candidate);
            }
        }
        return lowest;
    }

    private int Trials(double rate) => _trials.Count(t => t.Rate == rate);

    private int Failures(double rate) => _trials.Count(t => t.Rate == rate && !t.Passed);

    private int FullTrials(double rate) => _trials.Count(t => t.Rate == rate && t.Full);

    private int FullPasses(double rate) => _trials.Count(t => t.Rate == rate && t.Full && t.Passed);

    private int FullFailures(double rate) => _trials.Count(t => t.Rate == rate && t.Full && !t.Passed);

    private static string Format(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}
