using System.Globalization;

namespace InferenceServer.LoadTest.Capacity;

/// <summary>
/// Finds the highest open-loop rate that meets an SLA: double the rate from a start until a trial fails (or the cap
/// is reached), then bisect between the best passing and the lowest failing rate until they are within the
/// precision of each other. If the first rate fails, halve until one passes. Each trial is a short run supplied by
/// the caller, so the search itself is plain arithmetic and tested without a server.
/// </summary>
internal static class MaxRateSearch
{
    /// <summary>Below this the search gives up: nothing useful passes.</summary>
    public const double MinRate = 1;

    public static async Task<CapacityResult> SearchAsync(double startRate, double maxRate, double precision, int maxTrials, Func<double, Task<CapacityTrial>> runTrial, CancellationToken cancellationToken)
    {
        var trials = new List<CapacityTrial>();
        double best = 0;
        var lowestFailing = double.PositiveInfinity;
        var rate = Math.Min(startRate, maxRate);
        string reason;
        while (true)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                reason = "interrupted";
                break;
            }
            if (trials.Count >= maxTrials)
            {
                reason = $"stopped after {maxTrials} trials";
                break;
            }
            var trial = await runTrial(rate).ConfigureAwait(false);
            trials.Add(trial);
            if (trial.Passed)
            {
                best = Math.Max(best, rate);
            }
            else
            {
                lowestFailing = Math.Min(lowestFailing, rate);
            }

            if (double.IsPositiveInfinity(lowestFailing))
            {
                if (rate >= maxRate)
                {
                    reason = $"every rate passed up to --max-rate {Format(maxRate)}";
                    break;
                }
                rate = Math.Min(rate * 2, maxRate);
                continue;
            }
            if (best == 0)
            {
                rate = lowestFailing / 2;
                if (rate < MinRate)
                {
                    reason = $"no rate from {Format(MinRate)}/s up meets the SLA";
                    break;
                }
                continue;
            }
            if (lowestFailing - best <= precision * lowestFailing)
            {
                reason = $"bracketed within {Format(precision * 100)}%: {Format(best)}/s passes, {Format(lowestFailing)}/s fails";
                break;
            }
            rate = (best + lowestFailing) / 2;
        }
        return new CapacityResult(best > 0 ? best : null, double.IsPositiveInfinity(lowestFailing) ? null : lowestFailing, trials, reason);
    }

    private static string Format(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}
