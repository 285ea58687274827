using System.Text.RegularExpressions;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Quantization;
using InferenceServer.Core.Tensors;
using InferenceServer.OnnxRuntime.Quantization.Onnx;

namespace InferenceServer.OnnxRuntime.Quantization;

/// <summary>
/// fp16: FP32 weights and computation become FP16. Which values are FP32 is asked of ONNX Runtime (<see cref="ModelProbe"/>),
/// then every default-domain node that touches them runs in FP16 unless it cannot, with a Cast wherever a value's producer
/// and its reader disagree: at the graph's inputs and outputs when <see cref="QuantizeSettings.KeepIoFp32"/> is set, and
/// around nodes kept FP32. Kept FP32: other domains (ai.onnx.ml), nodes with subgraphs or that make values from attributes,
/// and every operator ONNX Runtime's CPU provider has no FP16 kernel for. The last is found by loading the result: an
/// operator refused is kept FP32 and the conversion made again, so the variant always loads and runs on CPU (where FP16
/// is rarely faster: it is a GPU variant that the CPU can still serve). ONNX Runtime itself also runs an FP16 node
/// whose CPU kernel is FP32-only in FP32, with casts it inserts, so a node counted as converted may still compute in FP32
/// on CPU. Weights beyond FP16's range are clamped to ±65504; activations are not checked (a value that overflows at
/// run time becomes infinity, which the accuracy gate sees).
/// </summary>
internal sealed partial class Fp16Transform(QuantizeSettings settings, QuantizationLog log)
{
    private const float HalfMax = 65504f;

    // Nodes that make values from attributes, run subgraphs or draw random numbers: their FP32 is part of what they mean.
    private static readonly HashSet<string> KeptFp32 = new(StringComparer.Ordinal)
    {
        "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli", "EyeLike",
        "ConstantOfShape", "If", "Loop", "Scan",
    };

    // Inputs ONNX types as float32 whatever the data's type (Resize's roi and scales, Upsample's scales).
    private static readonly Dictionary<string, int[]> Fp32Inputs = new(StringComparer.Ordinal)
    {
        ["Resize"] = [1, 2],
        ["Upsample"] = [1],
    };

    public void Apply(ModelProto model, CancellationToken cancellationToken)
    {
        foreach (var tensor in model.Graph.Initializer)
        {
            if (tensor.DataType == OnnxTensorData.Float16)
            {
                throw new QuantizationException($"the model already has FP16 weights ('{tensor.Name}'); convert the FP32 model it came from");
            }
        }

        var floats = FloatValues(model);
        var original = model.Clone();
        var noKernel = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var candidate = original.Clone();
            var attempt = new QuantizationLog();
            Convert(new GraphRewriter(candidate), floats, noKernel, attempt);
            var error = ModelProbe.LoadError(candidate);
            if (error is null)
            {
                model.Graph = candidate.Graph;
                attempt.CopyTo(log);
                return;
            }
            var missing = MissingKernel().Match(error);
            if (!missing.Success || !noKernel.Add(missing.Groups["op"].Value))
            {
                throw new QuantizationException($"the fp16 variant does not load in ONNX Runtime: {error}");
            }
        }
    }

    /// <summary>The FP32 tensors of the main graph: inputs, initializers, and node outputs as ONNX Runtime types them.</summary>
    private static HashSet<string> FloatValues(ModelProto model)
    {
        var floats = new HashSet<string>(StringComparer.Ordinal);
        foreach (var input in model.Graph.Input)
        {
            if (input.Type?.TensorType is { } tensor && tensor.ElemType == OnnxTensorData.Float)
            {
                floats.Add(input.Name);
            }
        }
        foreach (var tensor in model.Graph.Initializer)
        {
            if (tensor.DataType == OnnxTensorData.Float)
            {
                floats.Add(tensor.Name);
            }
        }
        var produced = new List<string>();
        foreach (var node in model.Graph.Node)
        {
            foreach (var output in node.Output)
            {
                if (output.Length > 0)
                {
                    produced.Add(output);
                }
            }
        }
        try
        {
            using var probe = ModelProbe.Open(model, produced);
            foreach (var value in produced)
            {
                if (probe.TypeOf(value) == DataType.Fp32)
                {
                    floats.Add(value);
                }
            }
        }
        catch (BackendException e)
        {
            throw new QuantizationException($"the model does not load in ONNX Runtime, so its FP32 values cannot be found: {ModelProbe.Reason(e)}", e);
        }
        return floats;
    }

    private void Convert(GraphRewriter rewriter, HashSet<string> floats, HashSet<string> noKernel, QuantizationLog attempt)
    {
        var graph = rewriter.Graph;
        var keepIo = settings.KeepIoFp32;
        // Per node: true FP16, false kept FP32; absent when it touches no FP32 value and is left alone.
        var runsHalf = new Dictionary<NodeProto, bool>(ReferenceEqualityComparer.Instance);
        foreach (var node in graph.Node)
        {
            if (!TouchesFloat(node, floats))
            {
                continue;
            }
            var why = WhyFp32(node, noKernel);
            runsHalf[node] = why is null;
            if (why is not null)
            {
                attempt.Skipped(rewriter.Describe(node), why);
            }
        }

        // Whether each FP32 value is held as FP16 where it is made.
        var half = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var input in graph.Input)
        {
            if (floats.Contains(input.Name))
            {
                half[input.Name] = !keepIo;
                if (!keepIo)
                {
                    input.Type.TensorType.ElemType = OnnxTensorData.Float16;
                }
            }
        }
        foreach (var (node, isHalf) in runsHalf)
        {
            foreach (var output in node.Output)
            {
                if (floats.Contains(output))
                {
                    half[output] = isHalf;
                }
            }
        }
        ConvertInitializers(rewriter, floats, runsHalf, half, attempt);

        var casts = new Dictionary<(string, bool), string>();
        var nodes = new List<NodeProto>(graph.Node.Count + 8);
        foreach (var node in graph.Node)
        {
            if (!runsHalf.TryGetValue(node, out var isHalf))
            {
                nodes.Add(node);
                continue;
            }
            for (var i = 0; i < node.Input.Count; i++)
            {
                var input = node.Input[i];
                if (input.Length == 0 || !half.TryGetValue(input, out var held))
                {
                    continue;
                }
                var wanted = isHalf && !IsFp32Input(node.OpType, i);
                if (held != wanted)
                {
                    node.Input[i] = CastOf(rewriter, input, wanted, casts, half, nodes);
                }
            }
            if (isHalf)
            {
                RetypeAttributes(node);
                attempt.Quantized(node.OpType);
            }
            nodes.Add(node);
        }

        // The graph's outputs keep their names; a Cast makes each in the precision asked.
        foreach (var output in graph.Output)
        {
            if (!half.TryGetValue(output.Name, out var held))
            {
                continue;
            }
            var wanted = !keepIo;
            if (held != wanted && !rewriter.IsGraphInput(output.Name))
            {
                var inner = rewriter.Fresh(output.Name + (held ? "_fp16" : "_fp32"));
                foreach (var node in nodes)
                {
                    Rename(node.Input, output.Name, inner);
                    Rename(node.Output, output.Name, inner);
                }
                half[inner] = held;
                nodes.Add(rewriter.Node("Cast", output.Name + "_cast", [inner], [output.Name], GraphRewriter.Int("to", wanted ? OnnxTensorData.Float16 : OnnxTensorData.Float)));
                half[output.Name] = wanted;
            }
            if (!keepIo && output.Type?.TensorType is { } tensor && tensor.ElemType == OnnxTensorData.Float)
            {
                tensor.ElemType = OnnxTensorData.Float16;
            }
        }
        foreach (var value in graph.ValueInfo)
        {
            if (value.Type?.TensorType is { } tensor && tensor.ElemType == OnnxTensorData.Float && half.GetValueOrDefault(value.Name))
            {
                tensor.ElemType = OnnxTensorData.Float16;
            }
        }
        rewriter.ReplaceNodes(nodes);
    }

    private static bool TouchesFloat(NodeProto node, HashSet<string> floats)
    {
        foreach (var input in node.Input)
        {
            if (floats.Contains(input))
            {
                return true;
            }
        }
        foreach (var output in node.Output)
        {
            if (floats.Contains(output))
            {
                return true;
            }
        }
        return false;
    }

    private static string? WhyFp32(NodeProto node, HashSet<string> noKernel)
    {
        if (node.Domain is not ("" or "ai.onnx"))
        {
            return $"an operator of domain '{node.Domain}', kept FP32";
        }
        foreach (var attribute in node.Attribute)
        {
            if (attribute.G is not null || attribute.Graphs.Count > 0)
            {
                return "runs a subgraph, kept FP32";
            }
        }
        if (KeptFp32.Contains(node.OpType))
        {
            return "makes its values from attributes, kept FP32";
        }
        return noKernel.Contains(node.OpType)
            ? "ONNX Runtime refuses it in FP16 (no FP16 kernel, or ONNX types the operator for FP32 only); kept FP32 with casts around it"
            : null;
    }

    private static bool IsFp32Input(string opType, int index) =>
        Fp32Inputs.TryGetValue(opType, out var indexes) && Array.IndexOf(indexes, index) >= 0;

    /// <summary>FP32 initializers read by an FP16 node become FP16 (one read only by FP32 nodes stays as it is).</summary>
    private static void ConvertInitializers(GraphRewriter rewriter, HashSet<string> floats, Dictionary<NodeProto, bool> runsHalf,
        Dictionary<string, bool> half, QuantizationLog attempt)
    {
        var readInHalf = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (node, isHalf) in runsHalf)
        {
            for (var i = 0; isHalf && i < node.Input.Count; i++)
            {
                if (!IsFp32Input(node.OpType, i))
                {
                    readInHalf.Add(node.Input[i]);
                }
            }
        }
        long clamped = 0;
        foreach (var tensor in rewriter.Graph.Initializer)
        {
            if (!floats.Contains(tensor.Name) || rewriter.IsGraphInput(tensor.Name))
            {
                continue;
            }
            var isHalf = readInHalf.Contains(tensor.Name);
            half[tensor.Name] = isHalf;
            if (isHalf)
            {
                clamped += ToHalf(tensor);
            }
        }
        if (clamped > 0)
        {
            attempt.Note($"weight values beyond the FP16 range clamped to ±{HalfMax}: {clamped}");
        }
    }

    /// <summary>Rewrites an FP32 tensor's data as FP16 in place; returns how many values were clamped into range.</summary>
    private static long ToHalf(TensorProto tensor)
    {
        var values = OnnxTensorData.ReadFloats(tensor);
        var halves = new Half[values.Length];
        long clamped = 0;
        for (var i = 0; i < values.Length; i++)
        {
            var value = values[i];
            if (float.IsFinite(value) && MathF.Abs(value) > HalfMax)
            {
                value = MathF.CopySign(HalfMax, value);
                clamped++;
            }
            halves[i] = (Half)value;
        }
        var converted = OnnxTensorData.Halves(tensor.Name, tensor.Dims, halves);
        tensor.ClearRawData();
        tensor.FloatData.Clear();
        tensor.DataType = OnnxTensorData.Float16;
        tensor.RawData = converted.RawData;
        return clamped;
    }

    /// <summary>An FP16 node whose attributes name FP32 (Cast to FLOAT, a Constant's FP32 value) now names FP16.</summary>
    private static void RetypeAttributes(NodeProto node)
    {
        switch (node.OpType)
        {
            case "Cast" when GraphRewriter.Find(node, "to") is { } to && to.I == OnnxTensorData.Float:
                to.I = OnnxTensorData.Float16;
                break;
            case "Constant":
                foreach (var attribute in node.Attribute)
                {
                    if (attribute.Name == "value" && attribute.T is { } tensor && tensor.DataType == OnnxTensorData.Float)
                    {
                        ToHalf(tensor);
                    }
                    else if (attribute.Name is "value_float" or "value_floats")
                    {
                        var scalar = attribute.Name == "value_float";
                        float[] values = scalar ? [attribute.F] : [.. attribute.Floats];
                        var halves = Array.ConvertAll(values, v => (Half)Math.Clamp(v, -HalfMax, HalfMax));
                        var replacement = OnnxTensorData.Halves("value", scalar ? [] : [values.Length], halves);
                        attribute.Name = "value";
                        attribute.Type = AttributeProto.Types.AttributeType.Tensor;
                        attribute.ClearF();
                        attribute.Floats.Clear();
                        attribute.T = replacement;
                    }
                }
                break;
        }
    }

    private static string CastOf(GraphRewriter rewriter, string value, bool toHalf, Dictionary<(string, bool), string> casts,
        Dictionary<string, bool> half, List<NodeProto> nodes)
    {
        if (!casts.TryGetValue((value, toHalf), out var cast))
        {
            cast = rewriter.Fresh(value + (toHalf ? "_fp16" : "_fp32"));
            nodes.Add(rewriter.Node("Cast", cast, [value], [cast], GraphRewriter.Int("to", toHalf ? OnnxTensorData.Float16 : OnnxTensorData.Float)));
            casts[(value, toHalf)] = cast;
            half[cast] = toHalf;
        }
        return cast;
    }

    private static void Rename(Google.Protobuf.Collections.RepeatedField<string> names, string from, string to)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (names[i] == from)
            {
                names[i] = to;
            }
        }
    }

    // ONNX Runtime's refusal of an FP16 node: no kernel ("Could not find an implementation for Gemm(13) node with name 'fc1'"),
    // or ONNX types the operator for FP32 only ("Type 'tensor(float16)' of input parameter (h) of operator (Celu) in node (n) is invalid").
    [GeneratedRegex(@"implementation for (?<op>\w+)\(\d+\) node with name|of operator \((?<op>\w+)\) in node")]
    private static partial Regex MissingKernel();
}
