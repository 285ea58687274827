namespace InferenceServer.Core.Scoring;

/// <summary>A row that was not scored: where it is, what it held (the columns read, as text) and why.</summary>
/// <param name="RowInSplit">Its 1-based position in its split (the file's row number is the split's rows-before plus this).</param>
/// <param name="Values">The columns read, by name, as the file gave them (null: missing).</param>
/// <param name="Reason">Why it was refused: the field and what was wrong.</param>
internal sealed record BadRow(long RowInSplit, IReadOnlyList<KeyValuePair<string, string?>> Values, string Reason);
