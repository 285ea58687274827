using System.Runtime.InteropServices;
using InferenceServer.Core.Quantization;
using InferenceServer.OnnxRuntime.Quantization.Onnx;

namespace InferenceServer.OnnxRuntime.Quantization;

/// <summary>
/// int8-dynamic: weights stored as 8-bit integers, activations quantized while the model runs. Each MatMul (and Gemm,
/// rewritten as MatMul + Add) with a constant weight becomes
/// <code>
///   x ─DynamicQuantizeLinear─▶ x_q (uint8), x_scale, x_zero_point
///   MatMulInteger(x_q, w_q (int8), x_zero_point, w_zero_point) ─Cast(float)─▶ Mul(x_scale × w_scale) [─Add(bias)]
/// </code>
/// only standard operators, in the pattern ONNX Runtime fuses into its integer kernels (MatMulIntegerToFloat). The
/// weight has one scale per output column when <see cref="QuantizeSettings.PerChannel"/> is set. Conv is left FP32 unless
/// the settings' operator types name it, because ONNX Runtime does not fuse ConvInteger and it measured no faster than
/// FP32 on CPU; when named, a Conv whose reduction is large enough becomes ConvInteger the same way, with a uint8 weight
/// and one scale (ONNX Runtime's CPU ConvInteger takes only unsigned weights with a single zero point). One
/// DynamicQuantizeLinear serves every node reading the same activation.
/// </summary>
internal sealed class Int8DynamicTransform(QuantizeSettings settings, QuantizationLog log)
{
    // A Conv whose outputs each sum fewer products than this is left in FP32: quantizing its input, and the integer
    // convolution's start-up, cost more than its few multiplications save.
    private const long MinConvReduction = 32;

    private readonly Dictionary<string, (string Q, string Scale, string ZeroPoint)> _activations = new(StringComparer.Ordinal);

    public void Apply(GraphRewriter graph, CancellationToken cancellationToken)
    {
        var targets = Int8Targets.From(settings);
        var nodes = new List<NodeProto>(graph.Graph.Node.Count * 2);
        foreach (var node in graph.Graph.Node)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var rewritten = Int8Targets.IsTarget(node, targets) && node.OpType switch
            {
                "MatMul" => RewriteMatMul(graph, node, nodes),
                "Gemm" => RewriteGemm(graph, node, nodes),
                "Conv" => RewriteConv(graph, node, nodes),
                _ => false,
            };
            if (rewritten)
            {
                log.Quantized(node.OpType);
            }
            else
            {
                nodes.Add(node);
            }
        }
        graph.ReplaceNodes(nodes);
        if (log.QuantizedCount > 0)
        {
            graph.RequireOpset(11, "int8-dynamic's DynamicQuantizeLinear", log);
        }
    }

    private bool RewriteMatMul(GraphRewriter graph, NodeProto node, List<NodeProto> nodes)
    {
        var name = graph.Describe(node);
        var weight = graph.Constant(node.Input[1]);
        if (weight is null)
        {
            log.Skipped(name, graph.Constant(node.Input[0]) is not null
                ? "the constant is the left operand; only a constant right operand (a weight) is quantized"
                : "both operands are computed; only a constant weight is quantized");
            return false;
        }
        Int8Targets.RequireFloat(weight, name);
        if (weight.Dims.Count != 2)
        {
            log.Skipped(name, $"weight '{weight.Name}' has {weight.Dims.Count} dimensions; only 2-D weights are quantized");
            return false;
        }
        EmitMatMul(graph, node, OnnxTensorData.ReadFloats(weight), weight.Name, weight.Dims[0], weight.Dims[1], null, nodes);
        return true;
    }

    private bool RewriteGemm(GraphRewriter graph, NodeProto node, List<NodeProto> nodes)
    {
        var name = graph.Describe(node);
        if (GraphRewriter.IntOr(node, "transA", 0) != 0)
        {
            log.Skipped(name, "transA=1 (a transposed activation) is left in FP32");
            return false;
        }
        var weight = graph.Constant(node.Input[1]);
        if (weight is null)
        {
            log.Skipped(name, "B is computed; only a constant weight is quantized");
            return false;
        }
        Int8Targets.RequireFloat(weight, name);
        if (weight.Dims.Count != 2)
        {
            log.Skipped(name, $"weight '{weight.Name}' has {weight.Dims.Count} dimensions; Gemm expects 2");
            return false;
        }

        var alpha = GraphRewriter.FloatOr(node, "alpha", 1f);
        var beta = GraphRewriter.FloatOr(node, "beta", 1f);
        string? bias = null;
        if (node.Input.Count > 2 && node.Input[2].Length > 0 && beta != 0f)
        {
            var c = graph.Constant(node.Input[2]);
            if (c is null && beta != 1f)
            {
                log.Skipped(name, $"C is computed and beta is {beta}; only beta=1 or a constant C is rewritten");
                return false;
            }
            bias = node.Input[2];
            if (c is not null && beta != 1f)
            {
                Int8Targets.RequireFloat(c, name);
                var scaled = OnnxTensorData.ReadFloats(c);
                for (var i = 0; i < scaled.Length; i++)
                {
                    scaled[i] *= beta;
                }
                bias = graph.AddInitializer(OnnxTensorData.Floats(c.Name + "_beta", c.Dims, scaled));
            }
        }

        // Gemm computes alpha·A·B' + beta·C; as MatMul that is A·W + bias with W = alpha·B' laid out [K, N].
        var data = OnnxTensorData.ReadFloats(weight);
        long k = weight.Dims[0];
        long n = weight.Dims[1];
        if (GraphRewriter.IntOr(node, "transB", 0) != 0)
        {
            data = Int8Targets.Transpose(data, k, n);
            (k, n) = (n, k);
        }
        if (alpha != 1f)
        {
            for (var i = 0; i < data.Length; i++)
            {
                data[i] *= alpha;
            }
        }
        EmitMatMul(graph, node, data, weight.Name, k, n, bias, nodes);
        return true;
    }

    private bool RewriteConv(GraphRewriter graph, NodeProto node, List<NodeProto> nodes)
    {
        var name = graph.Describe(node);
        if (!settings.OperatorTypes.Any(t => string.Equals(t, "Conv", StringComparison.OrdinalIgnoreCase)))
        {
            // Measured with ONNX Runtime 1.32 on CPU, three 64-channel 3x3 convolutions at 32x32: ConvInteger + rescale ran
            // 0.8-1.3x the speed of FP32 Conv (it is not fused), where int8-static's QLinearConv ran 2-3.6x.
            log.Skipped(name, "int8-dynamic leaves Conv in FP32 unless its operator types name Conv: ONNX Runtime's ConvInteger " +
                "measured no faster than FP32 on CPU; int8-static quantizes convolutions profitably");
            return false;
        }
        var weight = graph.Constant(node.Input[1]);
        if (weight is null)
        {
            log.Skipped(name, "the weight is computed; only a constant weight is quantized");
            return false;
        }
        Int8Targets.RequireFloat(weight, name);
        var group = GraphRewriter.IntOr(node, "group", 1);
        if (group != 1)
        {
            log.Skipped(name, (weight.Dims.Count > 1 && weight.Dims[1] == 1 ? $"depthwise convolution (group {group})" : $"grouped convolution (group {group})") +
                "; too few products per output for ConvInteger to gain on the added quantize and dequantize steps");
            return false;
        }
        long reduction = 1;
        for (var i = 1; i < weight.Dims.Count; i++)
        {
            reduction *= weight.Dims[i];
        }
        if (reduction < MinConvReduction)
        {
            log.Skipped(name, $"too small to pay: each output sums {reduction} products (fewer than {MinConvReduction}), " +
                "and quantizing the input would cost more than the integer convolution saves");
            return false;
        }
        string? bias = null;
        if (node.Input.Count > 2 && node.Input[2].Length > 0)
        {
            var b = graph.Constant(node.Input[2]);
            if (b is null)
            {
                log.Skipped(name, "the bias is computed; only a constant bias is folded into the rewrite");
                return false;
            }
            Int8Targets.RequireFloat(b, name);
            // Conv's bias is [M]; after the convolution it is added to [N, M, spatial...], so it is laid out [M, 1, ...].
            var dims = new long[weight.Dims.Count - 1];
            Array.Fill(dims, 1L);
            dims[0] = weight.Dims[0];
            bias = graph.AddInitializer(OnnxTensorData.Floats(b.Name + "_channels", dims, OnnxTensorData.ReadFloats(b)));
        }

        var quantized = WeightQuantizer.Asymmetric(OnnxTensorData.ReadFloats(weight));
        var weightQ = graph.AddInitializer(OnnxTensorData.UInt8s(weight.Name + "_quantized", weight.Dims, quantized.Values));
        var weightZero = graph.AddInitializer(OnnxTensorData.UInt8s(weight.Name + "_zero_point", [], quantized.ZeroPoints));
        var weightScale = graph.AddInitializer(OnnxTensorData.Floats(weight.Name + "_scale", [], quantized.Scales));
        var (xq, xScale, xZero) = QuantizeActivation(graph, node.Input[0], nodes);

        var hint = node.Name.Length > 0 ? node.Name : weight.Name;
        var integer = graph.Fresh(node.Output[0] + "_int32");
        var convInteger = graph.Node("ConvInteger", hint + "_integer", [xq, weightQ, xZero, weightZero], [integer]);
        foreach (var attribute in node.Attribute)
        {
            if (attribute.Name is "auto_pad" or "dilations" or "group" or "kernel_shape" or "pads" or "strides")
            {
                convInteger.Attribute.Add(attribute.Clone());
            }
        }
        nodes.Add(convInteger);
        EmitRescale(graph, hint, integer, xScale, weightScale, bias, node.Output[0], nodes);
        return true;
    }

    private void EmitMatMul(GraphRewriter graph, NodeProto node, float[] weight, string weightName, long k, long n, string? bias, List<NodeProto> nodes)
    {
        var perChannel = settings.PerChannel && n > 1;
        var quantized = perChannel
            ? WeightQuantizer.Symmetric(weight, (int)k, (int)n, 1)
            : WeightQuantizer.Symmetric(weight, 1, 1, weight.Length);
        long[] channelDims = perChannel ? [n] : [];
        var weightQ = graph.AddInitializer(OnnxTensorData.Int8s(weightName + "_quantized", [k, n], AsSigned(quantized.Values)));
        var weightZero = graph.AddInitializer(OnnxTensorData.Int8s(weightName + "_zero_point", channelDims, AsSigned(quantized.ZeroPoints)));
        var weightScale = graph.AddInitializer(OnnxTensorData.Floats(weightName + "_scale", channelDims, quantized.Scales));
        var (xq, xScale, xZero) = QuantizeActivation(graph, node.Input[0], nodes);

        var hint = node.Name.Length > 0 ? node.Name : weightName;
        var integer = graph.Fresh(node.Output[0] + "_int32");
        nodes.Add(graph.Node("MatMulInteger", hint + "_integer", [xq, weightQ, xZero, weightZero], [integer]));
        EmitRescale(graph, hint, integer, xScale, weightScale, bias, node.Output[0], nodes);
    }

    /// <summary>int32 result → float, times (activation scale × weight scale), plus the bias, written to <paramref name="output"/>.</summary>
    private static void EmitRescale(GraphRewriter graph, string hint, string integer, string xScale, string weightScale, string? bias,
        string output, List<NodeProto> nodes)
    {
        var asFloat = graph.Fresh(output + "_float");
        nodes.Add(graph.Node("Cast", hint + "_cast", [integer], [asFloat], GraphRewriter.Int("to", OnnxTensorData.Float)));
        var scale = graph.Fresh(output + "_scale");
        nodes.Add(graph.Node("Mul", hint + "_scale", [xScale, weightScale], [scale]));
        var scaled = bias is null ? output : graph.Fresh(output + "_unbiased");
        nodes.Add(graph.Node("Mul", hint + "_rescale", [asFloat, scale], [scaled]));
        if (bias is not null)
        {
            nodes.Add(graph.Node("Add", hint + "_bias", [scaled, bias], [output]));
        }
    }

    private (string Q, string Scale, string ZeroPoint) QuantizeActivation(GraphRewriter graph, string x, List<NodeProto> nodes)
    {
        if (!_activations.TryGetValue(x, out var quantized))
        {
            quantized = (graph.Fresh(x + "_quantized"), graph.Fresh(x + "_scale"), graph.Fresh(x + "_zero_point"));
            nodes.Add(graph.Node("DynamicQuantizeLinear", x + "_quantize", [x], [quantized.Q, quantized.Scale, quantized.ZeroPoint]));
            _activations[x] = quantized;
        }
        return quantized;
    }

    private static ReadOnlySpan<sbyte> AsSigned(byte[] values) => MemoryMarshal.Cast<byte, sbyte>(values);
}
