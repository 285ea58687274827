using System.Runtime.InteropServices;
using InferenceServer.Core.Quantization;
using InferenceServer.Core.Tensors;
using InferenceServer.OnnxRuntime.Quantization.Onnx;

namespace InferenceServer.OnnxRuntime.Quantization;

/// <summary>
/// int8-static in QDQ form: the graph keeps its FP32 operators and gains QuantizeLinear → DequantizeLinear pairs that
/// say where values are 8-bit, which ONNX Runtime turns into integer kernels.
/// <list type="bullet">
/// <item>The activation read by each MatMul, Gemm and Conv: uint8, with a scale and zero point from its range on the
/// calibration inputs (<see cref="ActivationCalibrator"/>); one pair serves every node reading it.</item>
/// <item>The constant weight: stored as int8 (symmetric, zero point 0) with a DequantizeLinear, one scale per output
/// channel (MatMul: column, axis 1; Gemm: axis 0 with transB, else 1; Conv: axis 0) when
/// <see cref="QuantizeSettings.PerChannel"/> and the operator set (13 or later) allow.</item>
/// <item>A constant 1-D bias of Conv or Gemm (alpha and beta 1): int32 with scale activation × weight scale and zero
/// point 0, the form ONNX Runtime's integer kernels take a bias in.</item>
/// </list>
/// </summary>
internal sealed class Int8StaticTransform(QuantizeSettings settings, QuantizationLog log)
{
    private readonly Dictionary<string, (string Dequantized, string Scale, float ScaleValue)> _activations = new(StringComparer.Ordinal);

    public void Apply(GraphRewriter graph, IReadOnlyList<IReadOnlyList<Tensor>> calibration, CancellationToken cancellationToken)
    {
        var targets = Int8Targets.From(settings);
        var chosen = new List<(NodeProto Node, TensorProto Weight)>();
        foreach (var node in graph.Graph.Node)
        {
            if (!Int8Targets.IsTarget(node, targets))
            {
                continue;
            }
            var name = graph.Describe(node);
            var weight = graph.Constant(node.Input[1]);
            if (weight is null)
            {
                log.Skipped(name, "the weight is computed; only a constant weight is quantized");
                continue;
            }
            Int8Targets.RequireFloat(weight, name);
            if (node.OpType != "Conv" && weight.Dims.Count != 2)
            {
                log.Skipped(name, $"weight '{weight.Name}' has {weight.Dims.Count} dimensions; only 2-D weights are quantized");
                continue;
            }
            chosen.Add((node, weight));
        }
        if (chosen.Count == 0)
        {
            return;
        }

        var perChannel = settings.PerChannel;
        if (perChannel && graph.DefaultOpset < 13)
        {
            perChannel = false;
            log.Note($"per-channel weights need operator set 13 (DequantizeLinear's axis); the model uses {graph.DefaultOpset}, so each weight has one scale");
        }
        graph.RequireOpset(10, "int8-static's QuantizeLinear and DequantizeLinear", log);

        // Conv's output is measured too: ONNX Runtime forms its integer convolution (QLinearConv) only from a Conv whose
        // output is quantized as well; without it the weight would be dequantized on every run, slower than FP32.
        var activations = chosen.Select(c => c.Node.Input[0])
            .Concat(chosen.Where(c => c.Node.OpType == "Conv").Select(c => c.Node.Output[0]))
            .Distinct(StringComparer.Ordinal).ToList();
        var ranges = ActivationCalibrator.Measure(graph.Model, activations, calibration, settings, cancellationToken);

        var rewrite = new HashSet<NodeProto>(chosen.Select(c => c.Node), ReferenceEqualityComparer.Instance);
        var nodes = new List<NodeProto>(graph.Graph.Node.Count * 2);
        foreach (var node in graph.Graph.Node)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (rewrite.Contains(node))
            {
                Rewrite(graph, node, graph.Constant(node.Input[1])!, ranges, perChannel, nodes);
                log.Quantized(node.OpType);
                nodes.Add(node);
                if (node.OpType == "Conv")
                {
                    QuantizeOutput(graph, node, ranges[node.Output[0]], nodes);
                }
                continue;
            }
            nodes.Add(node);
        }
        graph.ReplaceNodes(nodes);
    }

    private void Rewrite(GraphRewriter graph, NodeProto node, TensorProto weight, Dictionary<string, (float Low, float High)> ranges,
        bool perChannel, List<NodeProto> nodes)
    {
        var (activation, activationScale) = QuantizeActivation(graph, node.Input[0], ranges[node.Input[0]], nodes);

        // The output channel's axis and the weight seen as [outer, channels, inner].
        long[] dims = [.. weight.Dims];
        var axis = node.OpType switch
        {
            "MatMul" => 1,
            "Gemm" => GraphRewriter.IntOr(node, "transB", 0) != 0 ? 0 : 1,
            _ => 0,
        };
        var channels = perChannel ? (int)dims[axis] : 1;
        var outer = 1;
        for (var i = 0; i < axis; i++)
        {
            outer *= (int)dims[i];
        }
        var data = OnnxTensorData.ReadFloats(weight);
        var inner = data.Length / outer / channels;
        if (!perChannel)
        {
            outer = 1;
            inner = data.Length;
        }
        var quantized = WeightQuantizer.Symmetric(data, outer, channels, inner);
        long[] channelDims = perChannel ? [channels] : [];
        var weightQ = graph.AddInitializer(OnnxTensorData.Int8s(weight.Name + "_quantized", dims, MemoryMarshal.Cast<byte, sbyte>(quantized.Values)));
        var weightScale = graph.AddInitializer(OnnxTensorData.Floats(weight.Name + "_scale", channelDims, quantized.Scales));
        var weightZero = graph.AddInitializer(OnnxTensorData.Int8s(weight.Name + "_zero_point", channelDims, MemoryMarshal.Cast<byte, sbyte>(quantized.ZeroPoints)));
        var weightDq = graph.Fresh(weight.Name + "_dequantized");
        nodes.Add(perChannel
            ? graph.Node("DequantizeLinear", weight.Name + "_dequantize", [weightQ, weightScale, weightZero], [weightDq], GraphRewriter.Int("axis", axis))
            : graph.Node("DequantizeLinear", weight.Name + "_dequantize", [weightQ, weightScale, weightZero], [weightDq]));
        node.Input[0] = activation;
        node.Input[1] = weightDq;

        if (node.OpType != "MatMul" && node.Input.Count > 2 && node.Input[2].Length > 0)
        {
            QuantizeBias(graph, node, activationScale, quantized.Scales, perChannel, nodes);
        }
    }

    /// <summary>A constant 1-D bias of one value per output channel becomes int32 at scale activation × weight scale.</summary>
    private static void QuantizeBias(GraphRewriter graph, NodeProto node, float activationScale, float[] weightScales, bool perChannel,
        List<NodeProto> nodes)
    {
        var bias = graph.Constant(node.Input[2]);
        if (bias is null || bias.DataType != OnnxTensorData.Float || bias.Dims.Count != 1
            || (node.OpType == "Gemm" && (GraphRewriter.FloatOr(node, "alpha", 1f) != 1f || GraphRewriter.FloatOr(node, "beta", 1f) != 1f)))
        {
            // Left FP32: still correct, ONNX Runtime then adds it in float.
            return;
        }
        var values = OnnxTensorData.ReadFloats(bias);
        var scales = new float[perChannel ? values.Length : 1];
        for (var i = 0; i < scales.Length; i++)
        {
            scales[i] = activationScale * weightScales[perChannel ? i : 0];
        }
        if (perChannel && weightScales.Length != values.Length)
        {
            return;
        }
        var q = new int[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            var scaled = Math.Round((double)values[i] / scales[perChannel ? i : 0], MidpointRounding.ToEven);
            q[i] = (int)Math.Clamp(scaled, int.MinValue, int.MaxValue);
        }
        long[] scaleDims = perChannel ? [scales.Length] : [];
        var biasQ = graph.AddInitializer(OnnxTensorData.Int32s(bias.Name + "_quantized", bias.Dims, q));
        var biasScale = graph.AddInitializer(OnnxTensorData.Floats(bias.Name + "_scale", scaleDims, scales));
        var biasZero = graph.AddInitializer(OnnxTensorData.Int32s(bias.Name + "_zero_point", scaleDims, new int[scales.Length]));
        var biasDq = graph.Fresh(bias.Name + "_dequantized");
        nodes.Add(perChannel
            ? graph.Node("DequantizeLinear", bias.Name + "_dequantize", [biasQ, biasScale, biasZero], [biasDq], GraphRewriter.Int("axis", 0))
            : graph.Node("DequantizeLinear", bias.Name + "_dequantize", [biasQ, biasScale, biasZero], [biasDq]));
        node.Input[2] = biasDq;
    }

    /// <summary>
    /// The node writes a fresh value, quantized and dequantized into the original name, so readers (and a graph output of
    /// that name) are unchanged. The pair is also what a later node reading this value uses.
    /// </summary>
    private void QuantizeOutput(GraphRewriter graph, NodeProto node, (float Low, float High) range, List<NodeProto> nodes)
    {
        var y = node.Output[0];
        var raw = graph.Fresh(y + "_float");
        node.Output[0] = raw;
        var (scale, zeroPoint) = WeightQuantizer.UInt8Range(range.Low, range.High);
        var scaleName = graph.AddInitializer(OnnxTensorData.Floats(y + "_scale", [], [scale]));
        var zeroName = graph.AddInitializer(OnnxTensorData.UInt8s(y + "_zero_point", [], [zeroPoint]));
        var q = graph.Fresh(y + "_quantized");
        nodes.Add(graph.Node("QuantizeLinear", y + "_quantize", [raw, scaleName, zeroName], [q]));
        nodes.Add(graph.Node("DequantizeLinear", y + "_dequantize", [q, scaleName, zeroName], [y]));
        // A MatMul, Gemm or Conv reading y needs no second pair: y is already its dequantized self.
        _activations[y] = (y, scaleName, scale);
    }

    private (string Dequantized, float Scale) QuantizeActivation(GraphRewriter graph, string x, (float Low, float High) range, List<NodeProto> nodes)
    {
        if (!_activations.TryGetValue(x, out var quantized))
        {
            var (scale, zeroPoint) = WeightQuantizer.UInt8Range(range.Low, range.High);
            var scaleName = graph.AddInitializer(OnnxTensorData.Floats(x + "_scale", [], [scale]));
            var zeroName = graph.AddInitializer(OnnxTensorData.UInt8s(x + "_zero_point", [], [zeroPoint]));
            var q = graph.Fresh(x + "_quantized");
            var dq = graph.Fresh(x + "_dequantized");
            nodes.Add(graph.Node("QuantizeLinear", x + "_quantize", [x, scaleName, zeroName], [q]));
            nodes.Add(graph.Node("DequantizeLinear", x + "_dequantize", [q, scaleName, zeroName], [dq]));
            quantized = (dq, scaleName, scale);
            _activations[x] = quantized;
        }
        return (quantized.Dequantized, quantized.ScaleValue);
    }
}
