using InferenceServer.Core.Scoring;

namespace InferenceServer.Cli;

/// <summary>What <c>score</c>'s command line asks for: the run itself, the repository to load it from, and how to report.</summary>
internal sealed record ScoreRequest(string ModelRepository, ScoreOptions Options, bool Json, Uri? CompareWith, int CompareRows);
