namespace InferenceServer.Core.Scoring;

/// <summary>
/// A batch scoring run that cannot go on, with a message that says what is wrong and what was expected (an input that
/// cannot be read, an output folder of another run, a model that does not fit the file). The command prints it and exits 1.
/// </summary>
public sealed class ScoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ScoreException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public ScoreException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>
    /// A run that ran out of memory while <paramref name="doing"/> something: what the process may hold, what the run
    /// was asked to hold, and what to change.
    /// </summary>
    public static ScoreException OutOfMemory(string doing, long memoryLimit, Exception inner)
    {
        var heap = ScorePipeline.HeapLimit();
        return new ScoreException(
            $"out of memory while {doing}: this process may hold {heap >> 20} MB (DOTNET_GCHeapHardLimit, or 75% of a container's memory limit) "
            + $"and the run {memoryLimit >> 20} MB (--memory-limit); give a lower --memory-limit, smaller Parquet row groups (one is read at least whole) "
            + "or more memory. What was committed stays: --resume continues",
            inner);
    }
}
