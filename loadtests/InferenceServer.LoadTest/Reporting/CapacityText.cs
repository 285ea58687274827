using InferenceServer.LoadTest.Capacity;

namespace InferenceServer.LoadTest.Reporting;

/// <summary>A capacity search's answer with its uncertainty, worded the same in every report.</summary>
internal static class CapacityText
{
    /// <summary>e.g. "3,150/s (between 3,150/s and 3,300/s, ±2.4%; passed 2 full trials)".</summary>
    public static string Answer(CapacityResult capacity)
    {
        if (capacity.MaxRate is not { } max)
        {
            return "none";
        }
        var interval = capacity.LowestFailingRate is { } failing
            ? $"between {Units.Rate(max)} and {Units.Rate(failing)}, ±{Units.Share(capacity.Uncertainty!.Value)}"
            : $"at least {Units.Rate(max)}: every rate tried passed";
        var confirmation = capacity.Confirmed ? "confirmed by a repeated full trial" : "not confirmed by a repeated trial";
        return $"{Units.Rate(max)} ({interval}; {confirmation})";
    }

    /// <summary>How a trial was sized: "full, 5.0 s, 15,000 samples" or "scouting, …".</summary>
    public static string Sizing(CapacityTrial trial) =>
        $"{(trial.Full ? "full" : "scouting")}, {Units.Seconds(trial.Duration.TotalSeconds)}"
        + (trial.Summary is { } s ? $", {Units.Count(s.Successes)} samples" : "")
        + (trial.SamplesWanted > 0 && trial.Summary is { } t && t.Successes < trial.SamplesWanted ? $" (wanted {Units.Count(trial.SamplesWanted)})" : "")
        + (trial.LoadAverage is { } load ? $", load {Units.Number(load, "0.0")}" : "");
}
