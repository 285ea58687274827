using System.Text.Json.Serialization;

namespace InferenceServer.Core.Drift;

/// <summary>The PSI bands a report judges by, stated in the report so a reader need not know them.</summary>
public sealed class DriftThresholds
{
    /// <summary>PSI below this: none.</summary>
    [JsonPropertyName("moderate")]
    public double Moderate { get; init; } = DriftStatistics.ModerateThreshold;

    /// <summary>PSI above this: significant.</summary>
    [JsonPropertyName("significant")]
    public double Significant { get; init; } = DriftStatistics.SignificantThreshold;
}
