using InferenceServer.Core.Quantization;
using InferenceServer.Core.Tensors;
using InferenceServer.OnnxRuntime.Quantization.Onnx;

namespace InferenceServer.OnnxRuntime.Quantization;

/// <summary>
/// Makes quantized variants of ONNX models by rewriting the model's protobuf (<see cref="OnnxModelFile"/>): int8-dynamic
/// (<see cref="Int8DynamicTransform"/>), int8-static in QDQ form (<see cref="Int8StaticTransform"/>, calibrated by
/// <see cref="ActivationCalibrator"/>) and fp16 (<see cref="Fp16Transform"/>). The variant keeps the parent's graph inputs
/// and outputs (names, shapes, and FP32 types unless fp16 is asked not to keep them), its other operator sets, metadata and
/// doc strings, and records the settings it was made with in its metadata under <see cref="MetadataKey"/>.
/// </summary>
internal sealed class OnnxQuantizer : IModelQuantizer
{
    /// <summary>The metadata entry of a variant that names how it was made (<see cref="QuantizeSettings.CacheKey"/>).</summary>
    public const string MetadataKey = "inference_server.quantization";

    // Operators that only a quantized model has: quantizing such a model again would quantize twice.
    private static readonly HashSet<string> QuantizedOperators = new(StringComparer.Ordinal)
    {
        "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger", "ConvInteger", "QLinearConv",
        "QLinearMatMul", "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "QGemm", "QAttention", "DynamicQuantizeLSTM",
    };

    /// <inheritdoc />
    public QuantizationReport Quantize(string parentPath, string variantPath, QuantizeSettings settings,
        IReadOnlyList<IReadOnlyList<Tensor>> calibration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(parentPath);
        ArgumentNullException.ThrowIfNull(variantPath);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(calibration);
        if (settings.Method == QuantizationMethod.Int8Static && calibration.Count == 0)
        {
            throw new QuantizationException(
                "int8-static needs calibration inputs (sample requests) to measure activation ranges, and none were given; " +
                "give calibration inputs or use int8-dynamic");
        }

        var model = OnnxModelFile.Read(parentPath);
        RefuseQuantized(model, Path.GetFileName(parentPath));
        var graph = new GraphRewriter(model);
        var log = new QuantizationLog();
        switch (settings.Method)
        {
            case QuantizationMethod.Int8Dynamic:
                new Int8DynamicTransform(settings, log).Apply(graph, cancellationToken);
                break;
            case QuantizationMethod.Int8Static:
                new Int8StaticTransform(settings, log).Apply(graph, calibration, cancellationToken);
                break;
            case QuantizationMethod.Fp16:
                new Fp16Transform(settings, log).Apply(model, cancellationToken);
                break;
            default:
                throw new QuantizationException($"quantization method {settings.Method} is not known; expected int8-dynamic, int8-static or fp16");
        }
        if (log.QuantizedCount == 0)
        {
            var why = log.SkippedNodes.Count == 0 ? "" : ": " + string.Join("; ", log.SkippedNodes);
            throw new QuantizationException(settings.Method == QuantizationMethod.Fp16
                ? $"nothing in '{Path.GetFileName(parentPath)}' can run in FP16: " + (why.Length == 0 ? "it computes no FP32 tensor" : why[2..])
                : $"nothing in '{Path.GetFileName(parentPath)}' can be quantized: it has no MatMul, Gemm or Conv with a constant FP32 weight{why}");
        }

        SetMetadata(model, settings.CacheKey);
        OnnxModelFile.Write(model, variantPath);
        return log.ToReport(new FileInfo(parentPath).Length, new FileInfo(variantPath).Length);
    }

    private static void RefuseQuantized(ModelProto model, string name)
    {
        foreach (var node in OnnxGraphWalk.Nodes(model))
        {
            if (QuantizedOperators.Contains(node.OpType))
            {
                throw new QuantizationException(
                    $"'{name}' is already quantized: it has a {node.OpType} node{(node.Name.Length > 0 ? $" '{node.Name}'" : "")}; quantize the FP32 model it came from");
            }
        }
        foreach (var entry in model.MetadataProps)
        {
            if (entry.Key == MetadataKey)
            {
                throw new QuantizationException($"'{name}' is already a quantized variant ({entry.Value}); quantize the FP32 model it came from");
            }
        }
    }

    private static void SetMetadata(ModelProto model, string settings)
    {
        model.MetadataProps.Add(new StringStringEntryProto { Key = MetadataKey, Value = settings });
    }
}
