using System.Text.Json.Serialization;

namespace InferenceServer.Core.Drift;

/// <summary>How far one feature (or prediction output) has moved from its training profile.</summary>
public sealed class FeatureDrift
{
    /// <summary>The feature's name, as in the profile.</summary>
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>numeric or categorical.</summary>
    [JsonPropertyName("kind")]
    public required string Kind { get; init; }

    /// <summary>The values compared (missing ones are not).</summary>
    [JsonPropertyName("samples")]
    public required long Samples { get; init; }

    /// <summary>The Population Stability Index against the profile's bins; null with no values.</summary>
    [JsonPropertyName("psi")]
    public double? Psi { get; init; }

    /// <summary>The Kolmogorov–Smirnov statistic against the profile's CDF (numeric features only); null otherwise.</summary>
    [JsonPropertyName("ks")]
    public double? Ks { get; init; }

    /// <summary>none, moderate or significant by the PSI; "no samples" with no values.</summary>
    [JsonPropertyName("drift")]
    public required string Drift { get; init; }

    /// <summary>The share of the compared values in each of the profile's bins (categorical: categories, then other).</summary>
    [JsonPropertyName("proportions")]
    public required double[] Proportions { get; init; }
}
