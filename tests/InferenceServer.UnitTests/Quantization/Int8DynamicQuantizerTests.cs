using InferenceServer.Core.Quantization;
using InferenceServer.OnnxRuntime;
using InferenceServer.OnnxRuntime.Quantization;
using Xunit.Abstractions;

namespace InferenceServer.UnitTests.Quantization;

public sealed class Int8DynamicQuantizerTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = QuantizationFixtures.TemporaryFolder();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Income_variant_is_smaller_keeps_the_signature_and_stays_close_to_fp32()
    {
        var variant = Path.Combine(_folder, "income-int8.onnx");
        var report = new OnnxRuntimeBackend().Quantizer!.Quantize(
            QuantizationFixtures.Income, variant, new QuantizeSettings(QuantizationMethod.Int8Dynamic), []);

        Assert.Equal(3, report.QuantizedNodes["Gemm"]);
        Assert.Empty(report.SkippedNodes);
        Assert.Equal(new FileInfo(QuantizationFixtures.Income).Length, report.ParentBytes);
        Assert.Equal(new FileInfo(variant).Length, report.VariantBytes);
        Assert.True(report.VariantBytes < report.ParentBytes * 0.5, $"variant {report.VariantBytes} bytes, parent {report.ParentBytes}");

        using var parent = QuantizationFixtures.Load(QuantizationFixtures.Income);
        using var quantized = QuantizationFixtures.Load(variant);
        AssertSameSignature(parent, quantized);
        const int rows = 256;
        var input = QuantizationFixtures.IncomeRows(rows, seed: 1);
        var expected = QuantizationFixtures.Run(parent, "features", [rows, 58], input);
        var actual = QuantizationFixtures.Run(quantized, "features", [rows, 58], input);
        var (max, mean) = QuantizationFixtures.Difference(expected, actual);
        output.WriteLine($"income int8-dynamic: {report.ParentBytes} → {report.VariantBytes} bytes, probability error max {max:G3}, mean {mean:G3}");
        // A probability; int8 weights and activations (two 8-bit roundings per layer, three layers) keep it within 0.03.
        Assert.True(max < 0.03, $"largest probability error {max}");
        Assert.True(mean < 0.005, $"mean probability error {mean}");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Small_network_asked_for_conv_quantizes_matmul_gemm_and_conv_and_skips_a_depthwise_conv(bool perChannel)
    {
        var parentPath = Path.Combine(_folder, "small.onnx");
        SmallNetwork.Write(parentPath);
        var variant = Path.Combine(_folder, "small-int8.onnx");
        var report = new OnnxQuantizer().Quantize(parentPath, variant,
            new QuantizeSettings(QuantizationMethod.Int8Dynamic) { PerChannel = perChannel, OperatorTypes = ["MatMul", "Gemm", "Conv"] }, []);

        Assert.Equal(2, report.QuantizedNodes["Conv"]);
        Assert.Equal(1, report.QuantizedNodes["Gemm"]);
        Assert.Equal(1, report.QuantizedNodes["MatMul"]);
        var skipped = Assert.Single(report.SkippedNodes);
        Assert.StartsWith("Conv 'dw': depthwise convolution (group 16)", skipped, StringComparison.Ordinal);
        Assert.True(report.VariantBytes < report.ParentBytes * 0.4, $"variant {report.VariantBytes} bytes, parent {report.ParentBytes}");

        using var parent = QuantizationFixtures.Load(parentPath);
        using var quantized = QuantizationFixtures.Load(variant);
        AssertSameSignature(parent, quantized);
        var input = QuantizationFixtures.Uniform(16 * 4 * 8 * 8, seed: 2);
        var expected = QuantizationFixtures.Run(parent, SmallNetwork.Input, SmallNetwork.InputShape(16), input);
        var actual = QuantizationFixtures.Run(quantized, SmallNetwork.Input, SmallNetwork.InputShape(16), input);
        var (max, mean) = QuantizationFixtures.Difference(expected, actual);
        var spread = QuantizationFixtures.Difference(new float[expected.Length], expected).Max;
        output.WriteLine($"small network int8-dynamic (per-channel {perChannel}): {report.ParentBytes} → {report.VariantBytes} bytes, " +
            $"error max {max:G3}, mean {mean:G3}, largest output {spread:G3}");
        Assert.True(max < 0.05 * spread, $"largest error {max} against outputs up to {spread}");
        Assert.True(mean < 0.01 * spread, $"mean error {mean} against outputs up to {spread}");
    }

    [Fact]
    public void By_default_conv_is_left_fp32_with_the_reason()
    {
        var parentPath = Path.Combine(_folder, "small.onnx");
        SmallNetwork.Write(parentPath);
        var report = new OnnxQuantizer().Quantize(parentPath, Path.Combine(_folder, "small-int8.onnx"), new QuantizeSettings(QuantizationMethod.Int8Dynamic), []);

        Assert.Equal(new Dictionary<string, int> { ["Gemm"] = 1, ["MatMul"] = 1 }, report.QuantizedNodes);
        Assert.Equal(["conv1", "conv2", "dw"], report.SkippedNodes.Select(s => s.Split('\'')[1]));
        Assert.All(report.SkippedNodes, s => Assert.Contains("int8-dynamic leaves Conv in FP32 unless its operator types name Conv", s, StringComparison.Ordinal));
    }

    [Fact]
    public void Variant_keeps_metadata_doc_strings_other_opsets_and_records_its_settings()
    {
        var parentPath = Path.Combine(_folder, "small.onnx");
        SmallNetwork.Write(parentPath);
        var variant = Path.Combine(_folder, "small-int8.onnx");
        var settings = new QuantizeSettings(QuantizationMethod.Int8Dynamic);
        new OnnxQuantizer().Quantize(parentPath, variant, settings, []);

        var parent = OnnxModelFile.Read(parentPath);
        var model = OnnxModelFile.Read(variant);
        Assert.Equal(parent.DocString, model.DocString);
        Assert.Equal(parent.Graph.DocString, model.Graph.DocString);
        Assert.Equal(parent.ProducerName, model.ProducerName);
        Assert.Equal(parent.IrVersion, model.IrVersion);
        Assert.Contains(model.OpsetImport, o => o.Domain == "ai.onnx.ml" && o.Version == 3);
        Assert.Contains(model.OpsetImport, o => o.Domain == "" && o.Version == 17);
        Assert.Contains(model.MetadataProps, p => p.Key == "author" && p.Value == "tests");
        Assert.Contains(model.MetadataProps, p => p.Key == OnnxQuantizer.MetadataKey && p.Value == settings.CacheKey);
        Assert.Equal(parent.Graph.Input, model.Graph.Input);
        Assert.Equal(parent.Graph.Output, model.Graph.Output);
        // The FP32 weights that were quantized are gone; the depthwise one that was not stays.
        Assert.DoesNotContain(model.Graph.Initializer, t => t.Name == "fc.w");
        Assert.Contains(model.Graph.Initializer, t => t.Name == "dw.w");
    }

    [Fact]
    public void Operator_types_limit_what_is_quantized()
    {
        var parentPath = Path.Combine(_folder, "small.onnx");
        SmallNetwork.Write(parentPath);
        var variant = Path.Combine(_folder, "small-int8.onnx");
        var report = new OnnxQuantizer().Quantize(parentPath, variant,
            new QuantizeSettings(QuantizationMethod.Int8Dynamic) { OperatorTypes = ["matmul"] }, []);

        Assert.Equal(new Dictionary<string, int> { ["MatMul"] = 1 }, report.QuantizedNodes);
        var model = OnnxModelFile.Read(variant);
        Assert.Equal(3, model.Graph.Node.Count(n => n.OpType == "Conv"));
        Assert.Single(model.Graph.Node, n => n.OpType == "Gemm");
    }

    [Fact]
    public void An_operator_set_below_11_is_raised_and_the_report_says_so()
    {
        var parentPath = Path.Combine(_folder, "opset10.onnx");
        QuantizationFixtures.WriteMatMulThen("Relu", parentPath, opset: 10);
        var variant = Path.Combine(_folder, "opset10-int8.onnx");
        var report = new OnnxQuantizer().Quantize(parentPath, variant, new QuantizeSettings(QuantizationMethod.Int8Dynamic), []);

        Assert.Equal("default operator set raised from 10 to 11: int8-dynamic's DynamicQuantizeLinear needs it", Assert.Single(report.Notes));
        Assert.Contains(OnnxModelFile.Read(variant).OpsetImport, o => o.Domain == "" && o.Version == 11);
        using var quantized = QuantizationFixtures.Load(variant);
        using var parent = QuantizationFixtures.Load(parentPath);
        var input = QuantizationFixtures.Uniform(4 * 16, seed: 8);
        var expected = QuantizationFixtures.Run(parent, "X", [4, 16], input);
        var (max, _) = QuantizationFixtures.Difference(expected, QuantizationFixtures.Run(quantized, "X", [4, 16], input));
        Assert.True(max < 0.05 * QuantizationFixtures.Difference(new float[expected.Length], expected).Max, $"largest error {max}");
    }

    [Fact]
    public void An_operator_set_that_cannot_be_raised_without_changing_the_model_is_refused()
    {
        // The list of changed operators is cautious: Softmax changed at 13, and raising 10 to 11 under it is refused all the same.
        var parentPath = Path.Combine(_folder, "opset10-softmax.onnx");
        QuantizationFixtures.WriteMatMulThen("Softmax", parentPath, opset: 10);

        var error = Assert.Throws<QuantizationException>(() => new OnnxQuantizer().Quantize(parentPath, Path.Combine(_folder, "variant.onnx"),
            new QuantizeSettings(QuantizationMethod.Int8Dynamic), []));
        Assert.Equal("int8-dynamic's DynamicQuantizeLinear needs operator set 11, but the model uses 10, and its Softmax 'then' is an operator " +
            "whose definition changed between operator sets 7 and 13, so raising the version could change what it computes; " +
            "export the model at operator set 11 or later", error.Message);
    }

    internal static void AssertSameSignature(Core.Backends.IModelInstance parent, Core.Backends.IModelInstance variant)
    {
        Assert.Equal(parent.Signature.Inputs.Count, variant.Signature.Inputs.Count);
        Assert.Equal(parent.Signature.Outputs.Count, variant.Signature.Outputs.Count);
        foreach (var (expected, actual) in parent.Signature.Inputs.Zip(variant.Signature.Inputs).Concat(parent.Signature.Outputs.Zip(variant.Signature.Outputs)))
        {
            Assert.Equal(expected.Name, actual.Name);
            Assert.Equal(expected.DataType, actual.DataType);
            Assert.Equal(expected.Shape, actual.Shape);
        }
    }
}
