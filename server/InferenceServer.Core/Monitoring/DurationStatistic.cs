namespace InferenceServer.Core.Monitoring;

/// <summary>The statistics extension's <c>$duration_stat</c>: how many times, and for how long in total.</summary>
/// <param name="Count">How many times the statistic was collected.</param>
/// <param name="Ns">The cumulative duration in nanoseconds.</param>
public readonly record struct DurationStatistic(long Count, long Ns);
