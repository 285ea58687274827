namespace InferenceServer.Core.Lifecycle;

/// <summary>
/// What a repository-API load may carry beyond the model's name: a model config in JSON (Triton's <c>config</c>
/// parameter) and uploaded model files (Triton's <c>file:&lt;version&gt;/&lt;name&gt;</c> parameters) to use instead of
/// the repository's, and how long the load may take. Files replace the model's folder: the model loads from the
/// upload's folder, and <see cref="ConfigJson"/> must then be given too.
/// </summary>
/// <param name="ConfigJson">The model config as JSON (protobuf's JSON mapping of ModelConfig); null to use the folder's config.pbtxt.</param>
/// <param name="Files">The uploaded files; null (or none written) to load the repository's.</param>
public sealed record ModelLoadOverrides(string? ConfigJson, ModelUpload? Files)
{
    /// <summary>
    /// The load's own deadline (the request's <c>timeout</c>, or what is left of a gRPC deadline): past it the load is
    /// cancelled and fails, leaving what served serving. Null: only the server's limit (<c>--model-load-timeout-secs</c>).
    /// </summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// A timeout given in microseconds (Triton's unit for request timeouts), capped at what a timer can wait (24.8 days);
    /// <paramref name="microseconds"/> must be positive.
    /// </summary>
    public static TimeSpan TimeoutFromMicroseconds(long microseconds) => TimeSpan.FromMilliseconds(Math.Min(microseconds / 1000.0, int.MaxValue));
}
