using System.Globalization;

namespace InferenceServer.LoadTest.Targets;

/// <summary>
/// The server's word that a request waited for its model to load (on-demand model control): the REST header
/// <c>Inference-Cold-Start-Ms</c> or the gRPC response metadata <c>inference-cold-start-ms</c>, the wait in milliseconds.
/// Its absence means the model was already loaded (a warm request).
/// </summary>
internal static class ColdStart
{
    public const string Header = "Inference-Cold-Start-Ms";

    /// <summary>gRPC metadata keys are lower case.</summary>
    public const string Metadata = "inference-cold-start-ms";

    /// <summary>The wait in milliseconds; null when the value is absent or not a number of at least 0 (then the request counts as warm).</summary>
    public static double? Parse(string? value) =>
        value is not null && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) && ms >= 0 && double.IsFinite(ms) ? ms : null;

    /// <summary>The cold-start wait of a REST response, null for a warm one.</summary>
    public static double? Of(HttpResponseMessage response) =>
        response.Headers.TryGetValues(Header, out var values) ? Parse(values.FirstOrDefault()) : null;
}
