using InferenceServer.Core.Routing.Config;

namespace InferenceServer.Core.Routing.Experiments;

/// <summary>
/// The A/B report of a route at one moment: per variant its requests, outcomes, conversion rate with its interval,
/// and its comparison with the control; for the whole experiment the minimum detectable effect and the sample-ratio
/// check. Immutable: built from copies, it never changes as more outcomes arrive.
/// </summary>
public sealed class ExperimentReport
{
    private ExperimentReport(string route, string control, Experiment config, double? minimumDetectableEffect, string? note,
        SampleRatioCheck sampleRatio, VariantReport[] variants)
    {
        Route = route;
        Control = control;
        Alpha = config.Alpha;
        Power = config.Power;
        Window = config.Window;
        MinimumDetectableEffect = minimumDetectableEffect;
        Note = note;
        SampleRatio = sampleRatio;
        Variants = variants;
    }

    /// <summary>The route's name.</summary>
    public string Route { get; }

    /// <summary>The variant the others are compared with.</summary>
    public string Control { get; }

    /// <summary>The significance level: a comparison is significant when its p-value is below it.</summary>
    public double Alpha { get; }

    /// <summary>The confidence of the rates' intervals: 1 - alpha.</summary>
    public double Confidence => 1 - Alpha;

    /// <summary>The power the minimum detectable effect is computed for.</summary>
    public double Power { get; }

    /// <summary>The most recent request ids an outcome can still be joined to.</summary>
    public uint Window { get; }

    /// <summary>
    /// The smallest absolute difference in rate from the control that every comparison detects with <see cref="Power"/>
    /// (the largest of the variants' own); null until each comparison has one.
    /// </summary>
    public double? MinimumDetectableEffect { get; }

    /// <summary>Why the experiment compares nothing (a route of one variant); null otherwise.</summary>
    public string? Note { get; }

    /// <summary>Whether the variants answered the shares of requests their weights promise, judged over the requests the weights in force routed.</summary>
    public SampleRatioCheck SampleRatio { get; }

    /// <summary>The variants, in the route's order.</summary>
    public IReadOnlyList<VariantReport> Variants { get; }

    /// <summary>Builds the report of route <paramref name="route"/>.</summary>
    /// <param name="route">The route's name.</param>
    /// <param name="variants">Each variant's traffic, in the route's order.</param>
    /// <param name="outcomes">Each variant's outcomes (an <see cref="OutcomeLog.Snapshot"/>), in the same order.</param>
    /// <param name="config">The route's experiment, its defaults filled in; its control names one of the variants.</param>
    internal static ExperimentReport Build(string route, ReadOnlySpan<VariantTraffic> variants, ReadOnlySpan<VariantOutcomes> outcomes, Experiment config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (variants.Length == 0 || variants.Length != outcomes.Length)
        {
            throw new ArgumentException($"{variants.Length} variants and {outcomes.Length} outcome sums: one of each per variant", nameof(outcomes));
        }
        var controlIndex = -1;
        for (var i = 0; i < variants.Length; i++)
        {
            if (variants[i].Name == config.Control)
            {
                controlIndex = i;
                break;
            }
        }
        if (controlIndex < 0)
        {
            throw new ArgumentException($"the control '{config.Control}' is not one of the variants", nameof(config));
        }
        var control = outcomes[controlIndex];
        var confidence = 1 - config.Alpha;
        var reports = new VariantReport[variants.Length];
        var weights = new uint[variants.Length];
        var windowRequests = new long[variants.Length];
        var largestEffect = 0.0;
        var everyEffect = variants.Length > 1;
        for (var i = 0; i < variants.Length; i++)
        {
            var traffic = variants[i];
            var own = outcomes[i];
            weights[i] = traffic.Weight;
            windowRequests[i] = traffic.WindowRequests;
            double? difference = null, lift = null, pValue = null, effect = null;
            var note = "control";
            if (i != controlIndex)
            {
                difference = own.Rate - control.Rate;
                lift = control.Rate > 0 ? difference / control.Rate : null;
                pValue = ExperimentStatistics.TwoProportionPValue(control.Conversions, control.Outcomes, own.Conversions, own.Outcomes);
                effect = ExperimentStatistics.MinimumDetectableEffect(control.Rate ?? 0, control.Outcomes, own.Outcomes, config.Alpha, config.Power);
                note = pValue is null ? WhyNoTest(own, control, config.Control) : null;
                everyEffect &= effect is not null;
                largestEffect = Math.Max(largestEffect, effect ?? 0);
            }
            var interval = ExperimentStatistics.WilsonInterval(own.Conversions, own.Outcomes, confidence);
            reports[i] = new VariantReport
            {
                Name = traffic.Name,
                Model = traffic.Model,
                Version = traffic.Version,
                Weight = traffic.Weight,
                Requests = traffic.Requests,
                Outcomes = own.Outcomes,
                Conversions = own.Conversions,
                Rate = own.Rate,
                CiLow = interval?.Low,
                CiHigh = interval?.High,
                Labels = own.Labels,
                MeanLabel = own.MeanLabel,
                Accuracy = own.Accuracy,
                MeanAbsoluteError = own.MeanAbsoluteError,
                Difference = difference,
                Lift = lift,
                PValue = pValue,
                Significant = pValue < config.Alpha,
                MinimumDetectableEffect = effect,
                Note = note,
            };
        }
        var single = variants.Length == 1;
        return new ExperimentReport(route, config.Control, config, everyEffect ? largestEffect : null,
            single ? "not enough data: the route has one variant, so there is nothing to compare it with" : null,
            ExperimentStatistics.SampleRatio(weights, windowRequests), reports);
    }

    private static string WhyNoTest(VariantOutcomes own, VariantOutcomes control, string controlName) =>
        own.Outcomes == 0 ? "not enough data: no outcomes yet"
        : control.Outcomes == 0 ? $"not enough data: no outcomes yet for the control '{controlName}'"
        : $"not enough data: the z-test needs at least {ExperimentStatistics.MinExpectedCount} expected conversions and as many non-conversions for this variant and for the control";
}
