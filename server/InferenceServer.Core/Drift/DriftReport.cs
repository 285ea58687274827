using System.Text.Json;
using System.Text.Json.Serialization;

namespace InferenceServer.Core.Drift;

/// <summary>
/// A drift report: every profiled feature and prediction output of a model version, compared with what it was
/// trained on; for the live window of a serving version (<c>GET /v2/models/{m}/drift</c>) or for a scored file.
/// </summary>
public sealed class DriftReport
{
    /// <summary>The model.</summary>
    [JsonPropertyName("model")]
    public required string Model { get; init; }

    /// <summary>The version.</summary>
    [JsonPropertyName("version")]
    public required string Version { get; init; }

    /// <summary>What was compared: live (the server's sampled window) or a file's name.</summary>
    [JsonPropertyName("source")]
    public required string Source { get; init; }

    /// <summary>The profile compared against.</summary>
    [JsonPropertyName("profile")]
    public required string Profile { get; init; }

    /// <summary>feature_view or input_tensor: what the features are.</summary>
    [JsonPropertyName("level")]
    public required string Level { get; init; }

    /// <summary>The share of requests sampled into the window (1 for a file: every row).</summary>
    [JsonPropertyName("sample_rate")]
    public required double SampleRate { get; init; }

    /// <summary>The most rows the window (or a file's reservoir) keeps per feature.</summary>
    [JsonPropertyName("window_size")]
    public required int WindowSize { get; init; }

    /// <summary>Rows sampled so far (a window keeps the latest <see cref="WindowSize"/> of them).</summary>
    [JsonPropertyName("rows_sampled")]
    public required long RowsSampled { get; init; }

    /// <summary>The PSI bands: none below 0.1, moderate to 0.2, significant above.</summary>
    [JsonPropertyName("thresholds")]
    public DriftThresholds Thresholds { get; init; } = new();

    /// <summary>The worst drift of any feature or prediction: none, moderate or significant.</summary>
    [JsonPropertyName("drift")]
    public required string Drift { get; init; }

    /// <summary>Per input feature.</summary>
    [JsonPropertyName("features")]
    public required IReadOnlyList<FeatureDrift> Features { get; init; }

    /// <summary>Per prediction output.</summary>
    [JsonPropertyName("predictions")]
    public required IReadOnlyList<FeatureDrift> Predictions { get; init; }

    /// <summary>The report as indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, ProfileJsonContext.Default.DriftReport);

    /// <summary>The report as JSON into <paramref name="stream"/>.</summary>
    public Task WriteJsonAsync(Stream stream, CancellationToken cancellationToken) =>
        JsonSerializer.SerializeAsync(stream, this, ProfileJsonContext.Default.DriftReport, cancellationToken);

    /// <summary>
    /// The report as a few lines of text for a terminal (what <c>score</c> prints after a run): the verdict, then one
    /// line per feature and prediction with its samples, PSI, KS and level.
    /// </summary>
    public string ToText()
    {
        var text = new System.Text.StringBuilder();
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        text.Append(culture, $"drift of model '{Model}' version {Version} ({Source}) against {Profile}: {Drift} ({RowsSampled} rows; PSI < {Thresholds.Moderate} none, to {Thresholds.Significant} moderate, above significant)").Append('\n');
        Lines(text, "feature", Features, culture);
        Lines(text, "prediction", Predictions, culture);
        return text.ToString();
    }

    private static void Lines(System.Text.StringBuilder text, string what, IReadOnlyList<FeatureDrift> drifts, IFormatProvider culture)
    {
        foreach (var drift in drifts)
        {
            text.Append(culture, $"  {what + " " + drift.Name,-35} samples {drift.Samples,8}  PSI {Show(drift.Psi),7}  KS {Show(drift.Ks),6}  {drift.Drift}").Append('\n');
        }
    }

    private static string Show(double? value) => value is { } v ? v.ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture) : "-";

    /// <summary>The worse of two drift levels.</summary>
    internal static string Worse(string a, string b) => Rank(a) >= Rank(b) ? a : b;

    private static int Rank(string level) => level switch
    {
        "significant" => 3,
        "moderate" => 2,
        "none" => 1,
        _ => 0,
    };
}
