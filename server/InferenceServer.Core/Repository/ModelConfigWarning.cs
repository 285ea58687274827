namespace InferenceServer.Core.Repository;

/// <summary>Something in a config that was accepted but not acted on: an unknown field, or a known one this server ignores.</summary>
/// <param name="FileName">The file name as given to the reader, e.g. <c>simple/config.pbtxt</c>.</param>
/// <param name="Line">1-based line of the field.</param>
/// <param name="Column">1-based column of the field.</param>
/// <param name="FieldPath">The field, e.g. <c>max_batchsize</c> or <c>input[0].allow_ragged_batch</c>.</param>
/// <param name="Message">What happened, without the location prefix.</param>
internal sealed record ModelConfigWarning(string FileName, int Line, int Column, string FieldPath, string Message)
{
    /// <summary>True for a field the config schema does not have (most likely misspelt), false for one this server ignores.</summary>
    public bool IsUnknownField { get; init; }

    /// <summary>For an unknown field, the known field at that level it most likely meant; null when none is close.</summary>
    public string? Suggestion { get; init; }

    /// <summary>
    /// An unknown field, as a warning: <c>unknown field 'max_batchsize' was ignored (did you mean 'max_batch_size'?)</c>.
    /// </summary>
    internal static ModelConfigWarning UnknownField(string fileName, int line, int column, string fieldPath, string? suggestion) =>
        new(fileName, line, column, fieldPath, $"unknown field '{fieldPath}' was ignored{DidYouMean(suggestion)}")
        {
            IsUnknownField = true,
            Suggestion = suggestion,
        };

    /// <summary>Reads as <c>simple/config.pbtxt:7:1: unknown field 'max_batch' was ignored (did you mean 'max_batch_size'?)</c>.</summary>
    public override string ToString() => $"{ModelConfigLocation.Format(FileName, Line, Column)}: {Message}";

    /// <summary>
    /// <paramref name="reason"/> (why a load failed) followed by the unknown fields that were ignored, since a misspelt
    /// field is the likeliest cause of the failure that follows it (a misspelt <c>max_batch_size</c> shows up as a shape
    /// mismatch). The reason as it is when there were none.
    /// </summary>
    public static string AppendUnknownFields(string reason, IReadOnlyList<ModelConfigWarning> unknownFields)
    {
        if (unknownFields.Count == 0)
        {
            return reason;
        }
        return $"{reason}; note: {string.Join("; ", unknownFields)}";
    }

    /// <summary>The unknown fields as a load failure (Triton refuses them outright, as <c>--strict-model-config</c> makes this server do).</summary>
    public static string UnknownFieldsError(IReadOnlyList<ModelConfigWarning> unknownFields, string why)
    {
        var fields = new List<string>(unknownFields.Count);
        foreach (var field in unknownFields)
        {
            fields.Add($"{ModelConfigLocation.Format(field.FileName, field.Line, field.Column)}: unknown field '{field.FieldPath}'{DidYouMean(field.Suggestion)}");
        }
        return $"{string.Join("; ", fields)}; {why}";
    }

    private static string DidYouMean(string? suggestion) => suggestion is null ? "" : $" (did you mean '{suggestion}'?)";
}
