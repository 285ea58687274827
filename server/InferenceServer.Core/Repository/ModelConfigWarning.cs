namespace InferenceServer.Core.Repository;

/// <summary>Something in a <c>config.pbtxt</c> that was accepted but not acted on (an unknown or unsupported field).</summary>
/// <param name="FileName">The file name as given to the reader.</param>
/// <param name="Line">1-based line of the field.</param>
/// <param name="FieldPath">The field, e.g. <c>sequence_batching</c> or <c>input[0].allow_ragged_batch</c>.</param>
/// <param name="Message">What happened, without the location prefix.</param>
public sealed record ModelConfigWarning(string FileName, int Line, string FieldPath, string Message)
{
    /// <summary>Reads as <c>config.pbtxt:7: unknown field 'max_batch'; ignored</c>.</summary>
    public override string ToString() => $"{FileName}:{Line}: {Message}";
}
