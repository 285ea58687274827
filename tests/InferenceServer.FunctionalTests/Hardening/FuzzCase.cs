namespace InferenceServer.FunctionalTests.Hardening;

/// <summary>One generated request: its index, the bytes to send and how they were made (for the reproducer).</summary>
internal sealed record FuzzCase(int Index, byte[] Bytes, string Request)
{
    /// <summary>Target-specific extras (a path, headers, a model name) the sender needs.</summary>
    public object? State { get; init; }
}

/// <summary>What a case got: the answer to count (a status) and, when an oracle broke, which and why.</summary>
internal readonly record struct FuzzVerdict(string Outcome, string? FailureKind = null, string? Detail = null)
{
    public static FuzzVerdict Hang(TimeSpan timeout) => new("no answer", "hang", $"no answer within {timeout.TotalSeconds:0.#} s");
}
