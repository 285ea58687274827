namespace InferenceServer.Core.Repository.TextFormat;

/// <summary>The lexical classes of the protobuf text format.</summary>
internal enum TextTokenKind
{
    /// <summary>End of input.</summary>
    End,
    /// <summary>A name: field name, enum value, <c>true</c>, <c>inf</c>.</summary>
    Identifier,
    /// <summary>A quoted string; the token text is the decoded value.</summary>
    String,
    /// <summary>An integer literal (decimal, <c>0x</c> hex or leading-zero octal), without sign.</summary>
    Integer,
    /// <summary>A floating-point literal, without sign.</summary>
    Float,
    /// <summary>One of <c>{ } &lt; &gt; [ ] : , ; -</c>.</summary>
    Symbol,
}
