namespace InferenceServer.Core.Repository.TextFormat;

/// <summary>What a field's value is, as written (the text format carries no schema).</summary>
internal enum TextValueKind
{
    /// <summary>A bare name: an enum value, <c>true</c>/<c>false</c>, <c>inf</c>/<c>nan</c>.</summary>
    Identifier,
    /// <summary>A quoted string (adjacent strings already joined and escapes decoded).</summary>
    String,
    /// <summary>An integer literal, possibly negative.</summary>
    Integer,
    /// <summary>A floating-point literal, possibly negative, including <c>-inf</c>.</summary>
    Float,
    /// <summary>A nested message.</summary>
    Message,
}
