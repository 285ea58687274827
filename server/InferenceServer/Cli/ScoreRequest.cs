using InferenceServer.Core.Scoring;

namespace InferenceServer.Cli;

/// <summary>What <c>score</c>'s command line asks for: the run itself, the repository to load it from, and how to report.</summary>
internal sealed record ScoreRequest(string ModelRepository, ScoreOptions Options, bool Json, Uri? CompareWith, int CompareRows)
{
    /// <summary>Whether the summary carries the drift report (when the model has a training profile); false: --no-drift.</summary>
    public bool Drift { get; init; } = true;

    /// <summary>The model's CPU instances for this run; null keeps its config's.</summary>
    public int? Instances { get; init; }

    /// <summary>ONNX Runtime's intra-op threads per instance for this run; null keeps the server's choice.</summary>
    public int? IntraOpThreads { get; init; }
}
