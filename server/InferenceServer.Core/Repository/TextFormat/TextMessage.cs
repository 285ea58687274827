namespace InferenceServer.Core.Repository.TextFormat;

/// <summary>A message as written: its fields in order, repeated fields as several entries.</summary>
internal sealed class TextMessage
{
    public TextMessage(IReadOnlyList<TextField> fields, int line, int column)
    {
        Fields = fields;
        Line = line;
        Column = column;
    }

    public IReadOnlyList<TextField> Fields { get; }

    /// <summary>Position of the opening delimiter (1:1 for the top-level message).</summary>
    public int Line { get; }

    public int Column { get; }
}
