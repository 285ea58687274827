namespace InferenceServer.Core.Scoring;

/// <summary>A row whose answer from the server differs from the batch scorer's.</summary>
/// <param name="File">The input file.</param>
/// <param name="Row">The row's 1-based number in the file.</param>
/// <param name="Key">The row's key columns, as <c>name=value</c> pairs; empty without key columns.</param>
/// <param name="Output">The output (and element) that differs, or what failed.</param>
/// <param name="Local">The batch scorer's value.</param>
/// <param name="Remote">The server's value.</param>
public sealed record ComparedRow(string File, long Row, string Key, string Output, string Local, string Remote);
