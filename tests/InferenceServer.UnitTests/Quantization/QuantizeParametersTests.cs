using InferenceServer.Core.Quantization;

namespace InferenceServer.UnitTests.Quantization;

/// <summary>A config's <c>quantize</c> parameters: what they ask for, and the error for each mistake.</summary>
public sealed class QuantizeParametersTests
{
    [Fact]
    public void NoQuantizeParameterAsksForNothing() => Assert.Null(QuantizeParameters.Read(new Dictionary<string, string> { ["intra_op_thread_count"] = "2" }));

    [Fact]
    public void EveryParameterIsRead()
    {
        var request = QuantizeParameters.Read(new Dictionary<string, string>
        {
            ["quantize"] = "int8-static",
            ["quantize_calibration_method"] = "percentile",
            ["quantize_percentile"] = "99.9",
            ["quantize_per_tensor"] = "true",
            ["quantize_calibration"] = "calibration.csv",
            ["quantize_eval_file"] = "eval.jsonl",
            ["quantize_eval_label"] = "label",
            ["quantize_threshold"] = "0.3",
            ["quantize_max_abs_error"] = "0.02",
            ["quantize_min_agreement"] = "0.995",
            ["quantize_max_auc_drop"] = "0.005",
        })!;
        Assert.Equal(QuantizationMethod.Int8Static, request.Settings.Method);
        Assert.Equal(CalibrationMethod.Percentile, request.Settings.Calibration);
        Assert.Equal(99.9, request.Settings.Percentile);
        Assert.False(request.Settings.PerChannel);
        Assert.Equal(("calibration.csv", "eval.jsonl", "label"), (request.CalibrationFile, request.EvalFile, request.EvalLabel));
        Assert.Equal(new GateLimits(0.02, 0.995, 0.005) { Threshold = 0.3 }, request.Limits);
    }

    [Fact]
    public void UnsetLimitsDefaultToNinetyNinePercentAgreement()
    {
        var request = QuantizeParameters.Read(new Dictionary<string, string> { ["quantize"] = "INT8-DYNAMIC" })!;
        Assert.Equal(QuantizationMethod.Int8Dynamic, request.Settings.Method);
        Assert.Equal(GateLimits.LoadDefault, request.Limits);
        Assert.Null(request.EvalFile);
    }

    [Theory]
    [InlineData("quantize", "int4", "parameter 'quantize' is 'int4'; expected int8-dynamic, int8-static or fp16")]
    [InlineData("quantize_min_agreement", "99", "parameter 'quantize_min_agreement' is '99'; expected a number from 0 to 1")]
    [InlineData("quantize_max_abs_error", "-1", "parameter 'quantize_max_abs_error' is '-1'; expected a number of at least 0")]
    [InlineData("quantize_percentile", "0", "parameter 'quantize_percentile' is '0'; expected a number above 0 to 100")]
    [InlineData("quantize_per_tensor", "maybe", "parameter 'quantize_per_tensor' is 'maybe'; expected true or false")]
    [InlineData("quantize_calibration_method", "entropy", "parameter 'quantize_calibration_method' is 'entropy'; expected minmax or percentile")]
    [InlineData("quantize_min_agrement", "0.9", "parameter 'quantize_min_agrement' is not a quantization parameter; they are quantize, ")]
    public void AWrongValueNamesTheParameterAndWhatItTakes(string key, string value, string message)
    {
        var parameters = new Dictionary<string, string> { ["quantize"] = "int8-dynamic", [key] = value };
        var error = Assert.Throws<QuantizationException>(() => QuantizeParameters.Read(parameters));
        Assert.StartsWith(message, error.Message);
    }

    [Fact]
    public void ALimitWithoutAMethodIsAMistake()
    {
        var error = Assert.Throws<QuantizationException>(() => QuantizeParameters.Read(new Dictionary<string, string> { ["quantize_min_agreement"] = "0.9" }));
        Assert.Equal("parameter 'quantize_min_agreement' is given without 'quantize', which names the method (int8-dynamic, int8-static or fp16)", error.Message);
    }
}
