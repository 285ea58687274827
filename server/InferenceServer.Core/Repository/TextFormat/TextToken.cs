namespace InferenceServer.Core.Repository.TextFormat;

/// <summary>One token with its 1-based position (columns count UTF-16 code units).</summary>
internal readonly record struct TextToken(TextTokenKind Kind, string Text, int Line, int Column)
{
    public bool IsSymbol(char symbol) => Kind == TextTokenKind.Symbol && Text.Length == 1 && Text[0] == symbol;

    /// <summary>How the token reads in an error message.</summary>
    public string Describe() => Kind switch
    {
        TextTokenKind.End => "end of file",
        TextTokenKind.String => "a string",
        _ => $"'{Text}'",
    };
}
