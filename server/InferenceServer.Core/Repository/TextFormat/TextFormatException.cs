namespace InferenceServer.Core.Repository.TextFormat;

/// <summary>A syntax error in text-format input, with the position where it was found.</summary>
internal sealed class TextFormatException : Exception
{
    public TextFormatException(string fileName, int line, int column, string reason)
        : base($"{fileName}:{line}:{column}: {reason}")
    {
        FileName = fileName;
        Line = line;
        Column = column;
        Reason = reason;
    }

    public string FileName { get; }

    public int Line { get; }

    public int Column { get; }

    /// <summary>The message without the position prefix.</summary>
    public string Reason { get; }
}
