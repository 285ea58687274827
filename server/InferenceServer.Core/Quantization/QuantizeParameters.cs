using System.Globalization;

namespace InferenceServer.Core.Quantization;

/// <summary>
/// A config's request to serve a quantized variant, read from its <c>parameters</c> (Triton's string map):
/// <c>quantize</c> names the method; the others, all prefixed <c>quantize_</c>, tune it and set the gate's limits.
/// Files are named relative to the model folder and must stay inside it.
/// </summary>
/// <param name="Settings">What variant to make.</param>
/// <param name="Limits">The gate's limits (<see cref="GateLimits.LoadDefault"/> for those not given).</param>
/// <param name="EvalFile">A CSV/JSONL file of evaluation rows in the model folder; null: the warm-up samples.</param>
/// <param name="EvalLabel">The label column of <paramref name="EvalFile"/>, for the AUC.</param>
/// <param name="CalibrationFile">The calibration rows of int8-static, in the model folder; null: the evaluation rows.</param>
public sealed record QuantizeParameters(QuantizeSettings Settings, GateLimits Limits, string? EvalFile, string? EvalLabel, string? CalibrationFile)
{
    /// <summary>The parameter that asks for a variant: <c>int8-dynamic</c>, <c>int8-static</c> or <c>fp16</c>.</summary>
    public const string Method = "quantize";

    /// <summary>int8-static: <c>minmax</c> or <c>percentile</c>.</summary>
    public const string CalibrationMethodKey = "quantize_calibration_method";

    /// <summary>int8-static with percentile calibration: the percentile kept, e.g. 99.99.</summary>
    public const string PercentileKey = "quantize_percentile";

    /// <summary><c>true</c>: one scale per weight tensor instead of per output channel.</summary>
    public const string PerTensorKey = "quantize_per_tensor";

    /// <summary>int8-static: the calibration rows, a CSV or JSONL file in the model folder.</summary>
    public const string CalibrationKey = "quantize_calibration";

    /// <summary>The evaluation rows, a CSV or JSONL file in the model folder (default: the warm-up samples).</summary>
    public const string EvalFileKey = "quantize_eval_file";

    /// <summary>The evaluation file's label column (0/1 or true/false), for the AUC.</summary>
    public const string EvalLabelKey = "quantize_eval_label";

    /// <summary>The decision threshold of a single-probability output (default 0.5).</summary>
    public const string ThresholdKey = "quantize_threshold";

    /// <summary>The gate's largest absolute error of any output element.</summary>
    public const string MaxAbsErrorKey = "quantize_max_abs_error";

    /// <summary>The gate's smallest decision agreement, 0..1 (default 0.99).</summary>
    public const string MinAgreementKey = "quantize_min_agreement";

    /// <summary>The gate's largest AUC drop (needs labels).</summary>
    public const string MaxAucDropKey = "quantize_max_auc_drop";

    /// <summary>Every parameter read here, for the message about a misspelt one.</summary>
    public static IReadOnlyList<string> Keys { get; } =
        [Method, CalibrationMethodKey, PercentileKey, PerTensorKey, CalibrationKey, EvalFileKey, EvalLabelKey, ThresholdKey, MaxAbsErrorKey, MinAgreementKey, MaxAucDropKey];

    /// <summary>
    /// The request <paramref name="parameters"/> make; null when they hold no <c>quantize</c>. Throws
    /// <see cref="QuantizationException"/> naming the parameter and what it takes when one is wrong.
    /// </summary>
    public static QuantizeParameters? Read(IReadOnlyDictionary<string, string> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        foreach (var key in parameters.Keys)
        {
            if (key.StartsWith("quantize", StringComparison.Ordinal) && !Keys.Contains(key))
            {
                throw new QuantizationException($"parameter '{key}' is not a quantization parameter; they are {string.Join(", ", Keys)}");
            }
        }
        if (!parameters.TryGetValue(Method, out var methodText))
        {
            foreach (var key in Keys)
            {
                if (parameters.ContainsKey(key))
                {
                    throw new QuantizationException($"parameter '{key}' is given without '{Method}', which names the method (int8-dynamic, int8-static or fp16)");
                }
            }
            return null;
        }
        if (!QuantizeSettings.TryParseMethod(methodText.Trim(), out var method))
        {
            throw new QuantizationException($"parameter '{Method}' is '{methodText}'; expected int8-dynamic, int8-static or fp16");
        }
        var settings = new QuantizeSettings(method) { PerChannel = !Bool(parameters, PerTensorKey) };
        if (parameters.TryGetValue(CalibrationMethodKey, out var calibration))
        {
            settings = settings with
            {
                Calibration = calibration.Trim().ToLowerInvariant() switch
                {
                    "minmax" => CalibrationMethod.MinMax,
                    "percentile" => CalibrationMethod.Percentile,
                    _ => throw new QuantizationException($"parameter '{CalibrationMethodKey}' is '{calibration}'; expected minmax or percentile"),
                },
            };
        }
        if (Number(parameters, PercentileKey, 0, 100, exclusiveLow: true) is { } percentile)
        {
            settings = settings with { Percentile = percentile };
        }
        var limits = new GateLimits(
            Number(parameters, MaxAbsErrorKey, 0, double.MaxValue),
            Number(parameters, MinAgreementKey, 0, 1) ?? GateLimits.LoadDefault.MinAgreement,
            Number(parameters, MaxAucDropKey, 0, 1))
        {
            Threshold = Number(parameters, ThresholdKey, double.MinValue, double.MaxValue) ?? 0.5,
        };
        return new QuantizeParameters(settings, limits, File(parameters, EvalFileKey), File(parameters, EvalLabelKey), File(parameters, CalibrationKey));
    }

    private static string? File(IReadOnlyDictionary<string, string> parameters, string key) =>
        parameters.TryGetValue(key, out var value) && value.Trim().Length > 0 ? value.Trim() : null;

    private static bool Bool(IReadOnlyDictionary<string, string> parameters, string key)
    {
        if (!parameters.TryGetValue(key, out var text))
        {
            return false;
        }
        return text.Trim().ToLowerInvariant() switch
        {
            "true" or "1" or "yes" => true,
            "false" or "0" or "no" => false,
            _ => throw new QuantizationException($"parameter '{key}' is '{text}'; expected true or false"),
        };
    }

    private static double? Number(IReadOnlyDictionary<string, string> parameters, string key, double low, double high, bool exclusiveLow = false)
    {
        if (!parameters.TryGetValue(key, out var text))
        {
            return null;
        }
        if (!double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || double.IsNaN(value)
            || value < low || (exclusiveLow && value == low) || value > high)
        {
            var range = high == double.MaxValue ? (low == double.MinValue ? "a number" : FormattableString.Invariant($"a number of at least {low}"))
                : FormattableString.Invariant($"a number {(exclusiveLow ? "above" : "from")} {low} to {high}");
            throw new QuantizationException($"parameter '{key}' is '{text}'; expected {range}");
        }
        return value;
    }
}
