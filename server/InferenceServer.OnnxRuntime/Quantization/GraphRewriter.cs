using Google.Protobuf;
using InferenceServer.Core.Quantization;
using InferenceServer.OnnxRuntime.Quantization.Onnx;

namespace InferenceServer.OnnxRuntime.Quantization;

/// <summary>
/// The graph helpers every transform shares: which values are constants, fresh names that collide with nothing, new
/// nodes and initializers, the default operator set's version, and dropping initializers nothing reads any more.
/// Transforms rebuild the node list in order, replacing a node by the nodes that compute the same output names, so
/// the graph stays topologically sorted and its inputs and outputs keep their names.
/// </summary>
internal sealed class GraphRewriter
{
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TensorProto> _initializers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _graphInputs = new(StringComparer.Ordinal);
    // What the parent's nodes read: only initializers a rewrite stopped reading are dropped, never one the parent left unused.
    private readonly HashSet<string> _readBefore;

    public GraphRewriter(ModelProto model)
    {
        Model = model;
        var graph = model.Graph;
        foreach (var node in graph.Node)
        {
            _names.Add(node.Name);
            _names.UnionWith(node.Input);
            _names.UnionWith(node.Output);
        }
        foreach (var tensor in graph.Initializer)
        {
            _names.Add(tensor.Name);
            _initializers[tensor.Name] = tensor;
        }
        foreach (var value in graph.Input)
        {
            _names.Add(value.Name);
            _graphInputs.Add(value.Name);
        }
        foreach (var value in graph.Output)
        {
            _names.Add(value.Name);
        }
        foreach (var value in graph.ValueInfo)
        {
            _names.Add(value.Name);
        }
        _readBefore = ReadNames();
    }

    public ModelProto Model { get; }

    public GraphProto Graph => Model.Graph;

    /// <summary>The initializer of that name when it is a constant: not also a graph input, which a caller may override.</summary>
    public TensorProto? Constant(string name) =>
        name.Length > 0 && !_graphInputs.Contains(name) && _initializers.TryGetValue(name, out var tensor) ? tensor : null;

    public bool IsGraphInput(string name) => _graphInputs.Contains(name);

    /// <summary>A name used nowhere in the graph yet, made from <paramref name="hint"/>.</summary>
    public string Fresh(string hint)
    {
        if (_names.Add(hint))
        {
            return hint;
        }
        for (var i = 1; ; i++)
        {
            var candidate = $"{hint}_{i}";
            if (_names.Add(candidate))
            {
                return candidate;
            }
        }
    }

    /// <summary>Adds a constant under a fresh name made from the tensor's name; returns that name.</summary>
    public string AddInitializer(TensorProto tensor)
    {
        tensor.Name = Fresh(tensor.Name);
        _initializers[tensor.Name] = tensor;
        Graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    public NodeProto Node(string opType, string nameHint, IEnumerable<string> inputs, IEnumerable<string> outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = Fresh(nameHint) };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        return node;
    }

    /// <summary>Replaces the node list (the transforms build it anew in order) and drops the initializers it no longer reads.</summary>
    public void ReplaceNodes(List<NodeProto> nodes)
    {
        Graph.Node.Clear();
        Graph.Node.AddRange(nodes);
        var read = ReadNames();
        for (var i = Graph.Initializer.Count - 1; i >= 0; i--)
        {
            var name = Graph.Initializer[i].Name;
            if (!read.Contains(name) && !_graphInputs.Contains(name) && _readBefore.Contains(name))
            {
                Graph.Initializer.RemoveAt(i);
                _initializers.Remove(name);
            }
        }
    }

    /// <summary>The version of the default operator set (ai.onnx) the model imports.</summary>
    public long DefaultOpset
    {
        get
        {
            foreach (var import in Model.OpsetImport)
            {
                if (import.Domain is "" or "ai.onnx")
                {
                    return import.Version;
                }
            }
            return 0;
        }
    }

    /// <summary>
    /// Raises the default operator set to <paramref name="minimum"/> when it is lower. Refused when the graph uses an
    /// operator whose definition changed between the two versions, since raising the number would change what it computes.
    /// </summary>
    public void RequireOpset(long minimum, string why, QuantizationLog log)
    {
        var current = DefaultOpset;
        if (current >= minimum)
        {
            return;
        }
        foreach (var node in Graph.Node)
        {
            if (node.Domain is "" or "ai.onnx" && ChangedBefore13.Contains(node.OpType))
            {
                throw new QuantizationException(
                    $"{why} needs operator set {minimum}, but the model uses {current}, and its {Describe(node)} is an operator whose " +
                    $"definition changed between operator sets 7 and 13, so raising the version could change what it computes; " +
                    $"export the model at operator set {minimum} or later");
            }
        }
        log.Note($"default operator set raised from {current} to {minimum}: {why} needs it");
        foreach (var import in Model.OpsetImport)
        {
            if (import.Domain is "" or "ai.onnx")
            {
                import.Version = minimum;
                return;
            }
        }
        Model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = minimum });
    }

    /// <summary>How a node is named in reports and errors: its operator and its name, or its position when unnamed.</summary>
    public string Describe(NodeProto node) =>
        node.Name.Length > 0 ? $"{node.OpType} '{node.Name}'" : $"{node.OpType} (node {Graph.Node.IndexOf(node)})";

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Ints(string name, IEnumerable<long> values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    public static AttributeProto Tensor(string name, TensorProto value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Tensor, T = value };

    public static AttributeProto? Find(NodeProto node, string name)
    {
        foreach (var attribute in node.Attribute)
        {
            if (attribute.Name == name)
            {
                return attribute;
            }
        }
        return null;
    }

    public static long IntOr(NodeProto node, string name, long fallback) => Find(node, name) is { } a ? a.I : fallback;

    public static float FloatOr(NodeProto node, string name, float fallback) => Find(node, name) is { } a ? a.F : fallback;

    public static string StringOr(NodeProto node, string name, string fallback) => Find(node, name) is { } a ? a.S.ToStringUtf8() : fallback;

    public static ByteString Utf8(string text) => ByteString.CopyFromUtf8(text);

    private HashSet<string> ReadNames()
    {
        var read = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in AllNodes())
        {
            read.UnionWith(node.Input);
        }
        foreach (var value in Graph.Output)
        {
            read.Add(value.Name);
        }
        return read;
    }

    private IEnumerable<NodeProto> AllNodes()
    {
        // Subgraphs (If/Loop/Scan bodies) may read the outer graph's initializers by name.
        var pending = new Stack<GraphProto>();
        pending.Push(Graph);
        while (pending.Count > 0)
        {
            foreach (var node in pending.Pop().Node)
            {
                yield return node;
                foreach (var attribute in node.Attribute)
                {
                    if (attribute.G is not null)
                    {
                        pending.Push(attribute.G);
                    }
                    foreach (var graph in attribute.Graphs)
                    {
                        pending.Push(graph);
                    }
                }
            }
        }
    }

    // Default-domain operators whose inputs, attributes or results changed between operator sets 7 and 13; raising
    // the version under them would change the model (e.g. Softmax's axis semantics at 13, Squeeze's axes at 13).
    private static readonly HashSet<string> ChangedBefore13 = new(StringComparer.Ordinal)
    {
        "BatchNormalization", "Clip", "Dropout", "Hardmax", "LogSoftmax", "Pad", "ReduceSum", "Resize", "Slice",
        "Softmax", "Split", "Squeeze", "TopK", "Unsqueeze", "Upsample", "Scatter", "Gather", "Concat", "Flatten",
    };
}
