namespace InferenceServer.LoadTest.Targets;

/// <summary>
/// How one request ended: success, or an error with what the server said (for the report's samples). A success that
/// waited for its model to load carries the wait the server reported (<see cref="ColdStartMs"/>), so it is counted as cold.
/// </summary>
internal readonly record struct RequestOutcome(bool Success, ErrorKey Error, string? Detail, double? ColdStartMs = null)
{
    public static RequestOutcome Ok => new(true, default, null);

    /// <summary>A success whose model was loaded for it, after <paramref name="milliseconds"/> of waiting.</summary>
    public static RequestOutcome OkCold(double milliseconds) => new(true, default, null, milliseconds);

    public static RequestOutcome Failed(ErrorKey error, string? detail) => new(false, error, detail);
}
