namespace InferenceServer.Core.Quantization;

/// <summary>What <c>inference-server quantize</c> asks for.</summary>
/// <param name="Repository">The model repository.</param>
/// <param name="Model">The model's folder name.</param>
/// <param name="Settings">The variant to make.</param>
/// <param name="Limits">The gate's limits.</param>
public sealed record QuantizeJob(string Repository, string Model, QuantizeSettings Settings, GateLimits Limits)
{
    /// <summary>The parent version; null: the highest version folder.</summary>
    public long? Version { get; init; }

    /// <summary>
    /// Writes the variant as a new model of this name in the repository, with a config of its own, instead of as a
    /// version of <see cref="Model"/>; null: a version. Needed for fp16 with FP16 inputs and outputs
    /// (<see cref="QuantizeSettings.KeepIoFp32"/> false), whose types do not fit the parent's config.
    /// </summary>
    public string? OutputModel { get; init; }

    /// <summary>The version folder to write; null: the next free number (1 in a new model).</summary>
    public long? OutputVersion { get; init; }

    /// <summary>Calibration rows (CSV/JSONL) for int8-static; also the evaluation rows when <see cref="EvalFile"/> is not given.</summary>
    public string? CalibrationFile { get; init; }

    /// <summary>Evaluation rows (CSV/JSONL); null: the calibration rows, else the model's warm-up samples.</summary>
    public string? EvalFile { get; init; }

    /// <summary>The label column of <see cref="EvalFile"/>, for the AUC.</summary>
    public string? Label { get; init; }
}
