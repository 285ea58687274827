using InferenceServer.Core.Quantization;
using InferenceServer.OnnxRuntime.Quantization;

namespace InferenceServer.UnitTests.Quantization;

public sealed class QuantizerRefusalTests : IDisposable
{
    private readonly string _folder = QuantizationFixtures.TemporaryFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void A_corrupt_file_is_refused_as_not_an_onnx_model()
    {
        var corrupt = Path.Combine(_folder, "model.onnx");
        var bytes = File.ReadAllBytes(QuantizationFixtures.Income);
        File.WriteAllBytes(corrupt, bytes.AsSpan(0, bytes.Length / 2).ToArray());

        var error = Assert.Throws<QuantizationException>(() => Quantize(corrupt, QuantizationMethod.Int8Dynamic));
        Assert.Contains("'model.onnx' is not an ONNX model", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_folder, "variant.onnx")));
    }

    [Fact]
    public void A_missing_file_is_refused_by_name()
    {
        var error = Assert.Throws<QuantizationException>(() => Quantize(Path.Combine(_folder, "absent.onnx"), QuantizationMethod.Fp16));
        Assert.Contains("'absent.onnx' cannot be read", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Int8_static_without_calibration_inputs_is_refused()
    {
        var error = Assert.Throws<QuantizationException>(() => Quantize(QuantizationFixtures.Income, QuantizationMethod.Int8Static));
        Assert.Contains("int8-static needs calibration inputs", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_already_quantized_model_is_refused()
    {
        var first = Path.Combine(_folder, "int8.onnx");
        new OnnxQuantizer().Quantize(QuantizationFixtures.Income, first, new QuantizeSettings(QuantizationMethod.Int8Dynamic), []);

        var error = Assert.Throws<QuantizationException>(() => Quantize(first, QuantizationMethod.Int8Dynamic));
        Assert.Contains("'int8.onnx' is already quantized: it has a DynamicQuantizeLinear node", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_model_with_nothing_to_quantize_is_refused()
    {
        // simple adds and subtracts INT32 tensors: no weight at all.
        var error = Assert.Throws<QuantizationException>(() =>
            Quantize(Path.Combine(RepositoryPaths.Models, "simple", "1", "model.onnx"), QuantizationMethod.Int8Dynamic));
        Assert.Contains("nothing in 'model.onnx' can be quantized", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_operator_type_is_refused()
    {
        var error = Assert.Throws<QuantizationException>(() => new OnnxQuantizer().Quantize(QuantizationFixtures.Income,
            Path.Combine(_folder, "variant.onnx"), new QuantizeSettings(QuantizationMethod.Int8Dynamic) { OperatorTypes = ["LSTM"] }, []));
        Assert.Contains("operator type 'LSTM' cannot be quantized to int8; expected one or more of MatMul, Gemm, Conv", error.Message, StringComparison.Ordinal);
    }

    private QuantizationReport Quantize(string parent, QuantizationMethod method) =>
        new OnnxQuantizer().Quantize(parent, Path.Combine(_folder, "variant.onnx"), new QuantizeSettings(method), []);
}
