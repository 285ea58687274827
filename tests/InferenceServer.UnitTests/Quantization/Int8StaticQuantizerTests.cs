using InferenceServer.Core.Quantization;
using InferenceServer.Core.Tensors;
using InferenceServer.OnnxRuntime.Quantization;
using Xunit.Abstractions;

namespace InferenceServer.UnitTests.Quantization;

public sealed class Int8StaticQuantizerTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = QuantizationFixtures.TemporaryFolder();
    private readonly List<Tensor> _tensors = [];

    public void Dispose()
    {
        foreach (var tensor in _tensors)
        {
            tensor.Dispose();
        }
        Directory.Delete(_folder, recursive: true);
    }

    [Theory]
    [InlineData(CalibrationMethod.MinMax)]
    [InlineData(CalibrationMethod.Percentile)]
    public void Income_qdq_variant_is_smaller_keeps_the_signature_and_stays_close(CalibrationMethod calibration)
    {
        var variant = Path.Combine(_folder, "income-static.onnx");
        var calibrationInputs = Enumerable.Range(0, 8)
            .Select(i => (IReadOnlyList<Tensor>)[Keep(QuantizationFixtures.Floats("features", [32, 58], QuantizationFixtures.IncomeRows(32, seed: 100 + i)))])
            .ToList();
        var report = new OnnxQuantizer().Quantize(QuantizationFixtures.Income, variant,
            new QuantizeSettings(QuantizationMethod.Int8Static) { Calibration = calibration }, calibrationInputs);

        Assert.Equal(new Dictionary<string, int> { ["Gemm"] = 3 }, report.QuantizedNodes);
        Assert.True(report.VariantBytes < report.ParentBytes * 0.5, $"variant {report.VariantBytes} bytes, parent {report.ParentBytes}");
        var model = OnnxModelFile.Read(variant);
        Assert.Equal(3, model.Graph.Node.Count(n => n.OpType == "QuantizeLinear"));
        // Three activations, three weights and three biases.
        Assert.Equal(9, model.Graph.Node.Count(n => n.OpType == "DequantizeLinear"));
        Assert.DoesNotContain(model.Graph.Initializer, t => t.DataType == OnnxTensorData.Float && t.Dims.Count == 2);

        using var parent = QuantizationFixtures.Load(QuantizationFixtures.Income);
        using var quantized = QuantizationFixtures.Load(variant);
        Int8DynamicQuantizerTests.AssertSameSignature(parent, quantized);
        const int rows = 256;
        var input = QuantizationFixtures.IncomeRows(rows, seed: 1);
        var (max, mean) = QuantizationFixtures.Difference(
            QuantizationFixtures.Run(parent, "features", [rows, 58], input), QuantizationFixtures.Run(quantized, "features", [rows, 58], input));
        output.WriteLine($"income int8-static ({calibration}): {report.ParentBytes} → {report.VariantBytes} bytes, probability error max {max:G3}, mean {mean:G3}");
        Assert.True(max < 0.05, $"largest probability error {max}");
        Assert.True(mean < 0.01, $"mean probability error {mean}");
    }

    [Theory]
    [InlineData(CalibrationMethod.MinMax, true)]
    [InlineData(CalibrationMethod.Percentile, true)]
    [InlineData(CalibrationMethod.MinMax, false)]
    public void Small_network_qdq_variant_quantizes_every_conv_gemm_and_matmul(CalibrationMethod calibration, bool perChannel)
    {
        var parentPath = Path.Combine(_folder, "small.onnx");
        SmallNetwork.Write(parentPath);
        var variant = Path.Combine(_folder, "small-static.onnx");
        var calibrationInputs = Enumerable.Range(0, 4)
            .Select(i => (IReadOnlyList<Tensor>)[Keep(QuantizationFixtures.Floats(SmallNetwork.Input, SmallNetwork.InputShape(8), QuantizationFixtures.Uniform(8 * 4 * 8 * 8, seed: 200 + i)))])
            .ToList();
        var report = new OnnxQuantizer().Quantize(parentPath, variant,
            new QuantizeSettings(QuantizationMethod.Int8Static) { Calibration = calibration, PerChannel = perChannel }, calibrationInputs);

        // In QDQ form a depthwise Conv costs no extra step, so all three are quantized.
        Assert.Equal(3, report.QuantizedNodes["Conv"]);
        Assert.Equal(1, report.QuantizedNodes["Gemm"]);
        Assert.Equal(1, report.QuantizedNodes["MatMul"]);
        Assert.Empty(report.SkippedNodes);

        using var parent = QuantizationFixtures.Load(parentPath);
        using var quantized = QuantizationFixtures.Load(variant);
        Int8DynamicQuantizerTests.AssertSameSignature(parent, quantized);
        var input = QuantizationFixtures.Uniform(16 * 4 * 8 * 8, seed: 2);
        var expected = QuantizationFixtures.Run(parent, SmallNetwork.Input, SmallNetwork.InputShape(16), input);
        var (max, mean) = QuantizationFixtures.Difference(expected, QuantizationFixtures.Run(quantized, SmallNetwork.Input, SmallNetwork.InputShape(16), input));
        var spread = QuantizationFixtures.Difference(new float[expected.Length], expected).Max;
        output.WriteLine($"small int8-static ({calibration}, per-channel {perChannel}): {report.ParentBytes} → {report.VariantBytes} bytes, " +
            $"error max {max:G3}, mean {mean:G3}, largest output {spread:G3}");
        Assert.True(max < 0.1 * spread, $"largest error {max} against outputs up to {spread}");
        Assert.True(mean < 0.02 * spread, $"mean error {mean} against outputs up to {spread}");
    }

    [Fact]
    public void Calibration_inputs_that_do_not_fit_the_model_are_refused_by_number()
    {
        IReadOnlyList<IReadOnlyList<Tensor>> calibration = [[Keep(QuantizationFixtures.Floats("features", [2, 57], new float[114]))]];
        var error = Assert.Throws<QuantizationException>(() => new OnnxQuantizer().Quantize(QuantizationFixtures.Income,
            Path.Combine(_folder, "variant.onnx"), new QuantizeSettings(QuantizationMethod.Int8Static), calibration));
        Assert.StartsWith("calibration input 1 of 1 does not run through the model", error.Message, StringComparison.Ordinal);
    }

    private Tensor Keep(Tensor tensor)
    {
        _tensors.Add(tensor);
        return tensor;
    }
}
