namespace InferenceServer.LoadTest.Targets;

/// <summary>How one request ended: success, or an error with what the server said (for the report's samples).</summary>
internal readonly record struct RequestOutcome(bool Success, ErrorKey Error, string? Detail)
{
    public static RequestOutcome Ok => new(true, default, null);

    public static RequestOutcome Failed(ErrorKey error, string? detail) => new(false, error, detail);
}
