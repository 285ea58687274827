namespace InferenceServer.Core.Scoring;

/// <summary>The run stopped because its bad rows passed <c>--max-bad-rows</c> (exit code 3). What was committed stays.</summary>
public sealed class TooManyBadRowsException(string message, ScoreSummary summary) : Exception(message)
{
    /// <summary>Where the run was when it stopped.</summary>
    public ScoreSummary Summary { get; } = summary;
}
