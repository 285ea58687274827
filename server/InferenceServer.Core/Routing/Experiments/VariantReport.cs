namespace InferenceServer.Core.Routing.Experiments;

/// <summary>
/// One variant of an experiment report: its traffic, its outcomes, and how it compares with the control. A figure the
/// data cannot support yet is null, and <see cref="Note"/> says why.
/// </summary>
public sealed class VariantReport
{
    /// <summary>The variant's name.</summary>
    public required string Name { get; init; }

    /// <summary>The model that serves it.</summary>
    public required string Model { get; init; }

    /// <summary>The version serving it; null when none is or it is not known.</summary>
    public string? Version { get; init; }

    /// <summary>Its current weight.</summary>
    public uint Weight { get; init; }

    /// <summary>The requests it answered.</summary>
    public long Requests { get; init; }

    /// <summary>The outcomes joined to its requests.</summary>
    public long Outcomes { get; init; }

    /// <summary>The positive ones: conversions, and labels of at least 0.5.</summary>
    public long Conversions { get; init; }

    /// <summary>Conversions over outcomes.</summary>
    public double? Rate { get; init; }

    /// <summary>The low end of the rate's Wilson interval at 1 - alpha.</summary>
    public double? CiLow { get; init; }

    /// <summary>The high end of that interval.</summary>
    public double? CiHigh { get; init; }

    /// <summary>The outcomes that were numeric labels.</summary>
    public long Labels { get; init; }

    /// <summary>The labels' mean.</summary>
    public double? MeanLabel { get; init; }

    /// <summary>The share of labels whose class (at least 0.5) the prediction (at or above the threshold) got right.</summary>
    public double? Accuracy { get; init; }

    /// <summary>The mean absolute difference of prediction and label.</summary>
    public double? MeanAbsoluteError { get; init; }

    /// <summary>Rate minus the control's rate; null for the control.</summary>
    public double? Difference { get; init; }

    /// <summary>The difference relative to the control's rate; null for the control or when the control's rate is 0.</summary>
    public double? Lift { get; init; }

    /// <summary>The two-sided p-value of the two-proportion z-test against the control.</summary>
    public double? PValue { get; init; }

    /// <summary>True when the p-value is below alpha.</summary>
    public bool Significant { get; init; }

    /// <summary>The smallest absolute difference in rate the comparison with the control detects with the configured power.</summary>
    public double? MinimumDetectableEffect { get; init; }

    /// <summary>"control", or why a comparison has no p-value yet ("not enough data: ..."); null when it has one.</summary>
    public string? Note { get; init; }
}
