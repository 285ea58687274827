namespace InferenceServer.LoadTest;

/// <summary>What <c>loadtest</c> exits with, for CI pipelines to gate on.</summary>
internal static class ExitCodes
{
    /// <summary>Every run met its SLA (and at least one request of each succeeded).</summary>
    public const int Passed = 0;

    /// <summary>An SLA assertion failed, a run had no successful request, or a capacity search found no passing rate.</summary>
    public const int Failed = 1;

    /// <summary>Bad usage: unknown flag, malformed value, contradictory flags, unreadable input or scenario file.</summary>
    public const int Usage = 2;

    /// <summary>The target could not be used before any load was sent: server unreachable, model unknown or not ready.</summary>
    public const int TargetUnavailable = 3;

    /// <summary>Interrupted with Ctrl+C (what was measured is still reported).</summary>
    public const int Interrupted = 130;
}
