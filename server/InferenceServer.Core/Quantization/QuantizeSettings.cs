namespace InferenceServer.Core.Quantization;

/// <summary>
/// What variant to make. The same settings make the same file, so they are part of the load-time cache key
/// (<see cref="CacheKey"/>).
/// </summary>
/// <param name="Method">Which quantization.</param>
public sealed record QuantizeSettings(QuantizationMethod Method)
{
    /// <summary>int8-static: how activation ranges are calibrated.</summary>
    public CalibrationMethod Calibration { get; init; } = CalibrationMethod.MinMax;

    /// <summary>int8-static with <see cref="CalibrationMethod.Percentile"/>: the percentile of absolute values kept, e.g. 99.99.</summary>
    public double Percentile { get; init; } = 99.99;

    /// <summary>int8: one scale per output channel of a weight rather than one per tensor.</summary>
    public bool PerChannel { get; init; } = true;

    /// <summary>fp16: keep the model's inputs and outputs FP32 (a cast at each edge), so clients need not change.</summary>
    public bool KeepIoFp32 { get; init; } = true;

    /// <summary>The operator types quantized (int8); empty means the method's default set.</summary>
    public IReadOnlyList<string> OperatorTypes { get; init; } = [];

    /// <summary>A stable text of every setting, for the cache key and the log, e.g. <c>int8-static;minmax;per-channel</c>.</summary>
    public string CacheKey =>
        string.Join(';', MethodName(Method), Calibration == CalibrationMethod.Percentile ? $"percentile={Percentile:R}" : "minmax",
            PerChannel ? "per-channel" : "per-tensor", KeepIoFp32 ? "io-fp32" : "io-native", string.Join(',', OperatorTypes));

    /// <summary>The method's name as the command line and config write it.</summary>
    public static string MethodName(QuantizationMethod method) => method switch
    {
        QuantizationMethod.Int8Dynamic => "int8-dynamic",
        QuantizationMethod.Int8Static => "int8-static",
        QuantizationMethod.Fp16 => "fp16",
        _ => throw new ArgumentOutOfRangeException(nameof(method)),
    };

    /// <summary>Reads a method name (<c>int8-dynamic</c>, <c>int8-static</c>, <c>fp16</c>); false for anything else.</summary>
    public static bool TryParseMethod(string text, out QuantizationMethod method)
    {
        foreach (var candidate in Enum.GetValues<QuantizationMethod>())
        {
            if (string.Equals(MethodName(candidate), text, StringComparison.OrdinalIgnoreCase))
            {
                method = candidate;
                return true;
            }
        }
        method = default;
        return false;
    }
}
