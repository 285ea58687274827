namespace InferenceServer.Core.Quantization;

/// <summary>How int8-static turns the activations seen on calibration inputs into a quantization range.</summary>
public enum CalibrationMethod
{
    /// <summary>The smallest and largest value seen.</summary>
    MinMax,

    /// <summary>The given percentile of absolute values seen (<see cref="QuantizeSettings.Percentile"/>), which ignores rare outliers.</summary>
    Percentile,
}
