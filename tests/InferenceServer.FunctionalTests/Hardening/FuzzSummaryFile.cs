namespace InferenceServer.FunctionalTests.Hardening;

/// <summary>
/// Appends each target's summary to the file FUZZ_REPORT names, when set: a passing test's output is not shown by
/// <c>dotnet test</c>, and a long random run wants its summary kept.
/// </summary>
internal static class FuzzSummaryFile
{
    private static readonly Lock Gate = new();

    public static void Append(string summary)
    {
        if (Environment.GetEnvironmentVariable("FUZZ_REPORT") is { Length: > 0 } path)
        {
            lock (Gate)
            {
                File.AppendAllText(path, summary + Environment.NewLine);
            }
        }
    }
}
