using System.Runtime.InteropServices;
using InferenceServer.Core.Quantization;
using InferenceServer.Core.Tensors;
using InferenceServer.OnnxRuntime.Quantization;
using Xunit.Abstractions;

namespace InferenceServer.UnitTests.Quantization;

public sealed class Fp16QuantizerTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = QuantizationFixtures.TemporaryFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Income_fp16_variant_loads_on_cpu_keeps_fp32_io_and_stays_close()
    {
        var variant = Path.Combine(_folder, "income-fp16.onnx");
        var report = new OnnxQuantizer().Quantize(QuantizationFixtures.Income, variant, new QuantizeSettings(QuantizationMethod.Fp16), []);
        output.WriteLine($"income fp16: {report.ParentBytes} → {report.VariantBytes} bytes; converted {Counts(report)}; kept FP32: {string.Join(" | ", report.SkippedNodes)}");

        Assert.True(report.QuantizedNodes.Values.Sum() > 0);
        using var parent = QuantizationFixtures.Load(QuantizationFixtures.Income);
        using var half = QuantizationFixtures.Load(variant);
        Int8DynamicQuantizerTests.AssertSameSignature(parent, half);
        const int rows = 256;
        var input = QuantizationFixtures.IncomeRows(rows, seed: 3);
        var (max, mean) = QuantizationFixtures.Difference(
            QuantizationFixtures.Run(parent, "features", [rows, 58], input), QuantizationFixtures.Run(half, "features", [rows, 58], input));
        output.WriteLine($"income fp16: probability error max {max:G3}, mean {mean:G3}");
        // FP16 keeps 11 significant bits: a probability is off by a few thousandths at most.
        Assert.True(max < 5e-3, $"largest probability error {max}");
    }

    [Fact]
    public void Small_network_fp16_variant_stays_close_and_halves_the_weights()
    {
        var parentPath = Path.Combine(_folder, "small.onnx");
        SmallNetwork.Write(parentPath);
        var variant = Path.Combine(_folder, "small-fp16.onnx");
        var report = new OnnxQuantizer().Quantize(parentPath, variant, new QuantizeSettings(QuantizationMethod.Fp16), []);
        output.WriteLine($"small fp16: {report.ParentBytes} → {report.VariantBytes} bytes; converted {Counts(report)}; kept FP32: {string.Join(" | ", report.SkippedNodes)}");

        Assert.True(report.VariantBytes < report.ParentBytes * 0.6, $"variant {report.VariantBytes} bytes, parent {report.ParentBytes}");
        using var parent = QuantizationFixtures.Load(parentPath);
        using var half = QuantizationFixtures.Load(variant);
        Int8DynamicQuantizerTests.AssertSameSignature(parent, half);
        var input = QuantizationFixtures.Uniform(8 * 4 * 8 * 8, seed: 4);
        var expected = QuantizationFixtures.Run(parent, SmallNetwork.Input, SmallNetwork.InputShape(8), input);
        var (max, _) = QuantizationFixtures.Difference(expected, QuantizationFixtures.Run(half, SmallNetwork.Input, SmallNetwork.InputShape(8), input));
        var spread = QuantizationFixtures.Difference(new float[expected.Length], expected).Max;
        output.WriteLine($"small fp16: error max {max:G3} against outputs up to {spread:G3}");
        Assert.True(max < 0.01 * spread, $"largest error {max} against outputs up to {spread}");
    }

    [Fact]
    public void Without_keeping_fp32_io_the_inputs_and_outputs_are_fp16()
    {
        var variant = Path.Combine(_folder, "income-fp16-io.onnx");
        new OnnxQuantizer().Quantize(QuantizationFixtures.Income, variant, new QuantizeSettings(QuantizationMethod.Fp16) { KeepIoFp32 = false }, []);

        using var half = QuantizationFixtures.Load(variant);
        Assert.Equal(DataType.Fp16, half.Signature.Inputs[0].DataType);
        Assert.Equal(DataType.Fp16, half.Signature.Outputs[0].DataType);
        Assert.Equal(new long[] { -1, 58 }, half.Signature.Inputs[0].Shape);
        var rows = QuantizationFixtures.IncomeRows(4, seed: 5);
        var halves = Array.ConvertAll(rows, v => (Half)v);
        using var input = Tensor.Copy("features", DataType.Fp16, [4, 58], MemoryMarshal.AsBytes(halves.AsSpan()));
        var outputs = half.Run([input], ["probability"]);
        using var probability = Assert.Single(outputs);
        using var parent = QuantizationFixtures.Load(QuantizationFixtures.Income);
        var expected = QuantizationFixtures.Run(parent, "features", [4, 58], rows);
        var actual = MemoryMarshal.Cast<byte, Half>(probability.Data).ToArray();
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - (float)actual[i]) < 5e-3, $"row {i}: {actual[i]} where FP32 gives {expected[i]}");
        }
    }

    [Fact]
    public void A_node_onnx_runtime_refuses_in_fp16_is_kept_fp32_with_casts_around_it()
    {
        // Celu is typed for FP32 only, so ONNX Runtime refuses an FP16 Celu when the variant is loaded.
        var parentPath = Path.Combine(_folder, "celu.onnx");
        QuantizationFixtures.WriteMatMulThen("Celu", parentPath);
        var variant = Path.Combine(_folder, "celu-fp16.onnx");
        var report = new OnnxQuantizer().Quantize(parentPath, variant, new QuantizeSettings(QuantizationMethod.Fp16), []);

        Assert.Equal(new Dictionary<string, int> { ["MatMul"] = 1 }, report.QuantizedNodes);
        var skipped = Assert.Single(report.SkippedNodes);
        Assert.StartsWith("Celu 'then': ONNX Runtime refuses it in FP16", skipped, StringComparison.Ordinal);
        var model = OnnxModelFile.Read(variant);
        // X to FP16 for the MatMul, its result back to FP32 for Celu, whose output is the graph's FP32 output as it is.
        Assert.Equal(["Cast", "MatMul", "Cast", "Celu"], model.Graph.Node.Select(n => n.OpType));
        Assert.Equal([OnnxTensorData.Float16, OnnxTensorData.Float], model.Graph.Node.Where(n => n.OpType == "Cast").Select(n => (int)n.Attribute[0].I));
        using var parent = QuantizationFixtures.Load(parentPath);
        using var half = QuantizationFixtures.Load(variant);
        var input = QuantizationFixtures.Uniform(8 * 16, seed: 6);
        var (max, _) = QuantizationFixtures.Difference(QuantizationFixtures.Run(parent, "X", [8, 16], input), QuantizationFixtures.Run(half, "X", [8, 16], input));
        Assert.True(max < 5e-3, $"largest error {max}");
    }

    [Fact]
    public void Weights_beyond_the_fp16_range_are_clamped_and_the_report_says_how_many()
    {
        var parentPath = Path.Combine(_folder, "large.onnx");
        QuantizationFixtures.WriteMatMulThen("Relu", parentPath);
        var model = OnnxModelFile.Read(parentPath);
        var weights = OnnxTensorData.ReadFloats(model.Graph.Initializer[0]);
        weights[3] = 1e6f;
        weights[7] = -7e4f;
        model.Graph.Initializer[0] = OnnxTensorData.Floats("w", [16, 16], weights);
        OnnxModelFile.Write(model, parentPath);

        var variant = Path.Combine(_folder, "large-fp16.onnx");
        var report = new OnnxQuantizer().Quantize(parentPath, variant, new QuantizeSettings(QuantizationMethod.Fp16), []);

        Assert.Equal("weight values beyond the FP16 range clamped to ±65504: 2", Assert.Single(report.Notes));
        var halves = MemoryMarshal.Cast<byte, Half>(OnnxModelFile.Read(variant).Graph.Initializer[0].RawData.Span);
        Assert.Equal((Half)65504f, halves[3]);
        Assert.Equal((Half)(-65504f), halves[7]);
    }

    [Fact]
    public void An_fp16_model_is_refused()
    {
        var first = Path.Combine(_folder, "fp16.onnx");
        new OnnxQuantizer().Quantize(QuantizationFixtures.Income, first, new QuantizeSettings(QuantizationMethod.Fp16) { KeepIoFp32 = false }, []);

        var error = Assert.Throws<QuantizationException>(() =>
            new OnnxQuantizer().Quantize(first, Path.Combine(_folder, "again.onnx"), new QuantizeSettings(QuantizationMethod.Int8Dynamic), []));
        Assert.Contains("already a quantized variant (fp16;", error.Message, StringComparison.Ordinal);
    }

    private static string Counts(QuantizationReport report) => string.Join(", ", report.QuantizedNodes.Select(p => $"{p.Key} {p.Value}"));
}
