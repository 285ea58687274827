namespace InferenceServer.Core.Repository.TextFormat;

/// <summary>
/// One field occurrence. A list (<c>dims: [1, 2]</c>) becomes one entry per element, each
/// marked <see cref="InList"/>, so a reader handles repeated fields the same way whichever
/// syntax the author chose, yet can still reject lists on singular fields.
/// </summary>
internal sealed class TextField
{
    public required string Name { get; init; }

    /// <summary>Position of the field name.</summary>
    public required int Line { get; init; }

    public required int Column { get; init; }

    public required TextValueKind Kind { get; init; }

    /// <summary>
    /// The scalar as written: identifier, decoded string, or number literal with its sign
    /// (<c>-0x1F</c>, <c>1e-3</c>, <c>-inf</c>). Empty for messages.
    /// </summary>
    public string Text { get; init; } = "";

    /// <summary>The nested message when <see cref="Kind"/> is <see cref="TextValueKind.Message"/>.</summary>
    public TextMessage? Message { get; init; }

    /// <summary>Position of the value (its first token), for errors about the value itself.</summary>
    public required int ValueLine { get; init; }

    public required int ValueColumn { get; init; }

    /// <summary>True when the value came from list syntax <c>[ ... ]</c>.</summary>
    public bool InList { get; init; }
}
