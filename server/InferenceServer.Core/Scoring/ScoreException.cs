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
}
