namespace InferenceServer.LoadTest.Capacity;

/// <summary>The outcome of a capacity search: the highest passing rate (null when none passed), every trial, and why it stopped.</summary>
internal sealed record CapacityResult(double? MaxRate, double? LowestFailingRate, IReadOnlyList<CapacityTrial> Trials, string StopReason);
