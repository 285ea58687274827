using InferenceServer.LoadTest.Targets;

namespace InferenceServer.LoadTest.Histograms;

/// <summary>How many requests failed with one kind of error, and what the first of them said.</summary>
internal sealed record ErrorCount(ErrorKey Kind, long Count, string? Sample);
