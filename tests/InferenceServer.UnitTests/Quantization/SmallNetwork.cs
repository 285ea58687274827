using Google.Protobuf;
using InferenceServer.OnnxRuntime.Quantization.Onnx;

namespace InferenceServer.UnitTests.Quantization;

/// <summary>
/// A small CNN written with our own onnx.proto, with every case the int8 methods treat differently:
/// <code>
///   X [batch, 4, 8, 8] ─Conv 4→8 3×3─Relu─Conv 8→16 3×3─Relu─depthwise Conv (group 16)─Relu─Flatten
///     ─Gemm (transB=1, alpha 0.5, beta 2) 1024→32─Relu─MatMul 32→10─▶ Y [batch, 10]
/// </code>
/// plus model metadata, a doc string and an ai.onnx.ml import, which every variant must keep.
/// </summary>
internal static class SmallNetwork
{
    public const string Input = "X";
    public const string Output = "Y";
    public const int Channels = 4;
    public const int Side = 8;
    public const int Classes = 10;

    public static long[] InputShape(int batch) => [batch, Channels, Side, Side];

    public static void Write(string path)
    {
        var random = new Random(17);
        var graph = new GraphProto { Name = "small_cnn", DocString = "a test network for the quantizer" };
        graph.Input.Add(Value(Input, "batch", Channels, Side, Side));
        graph.Output.Add(Value(Output, "batch", Classes));

        Weight(graph, random, "conv1.w", [8, Channels, 3, 3], 1.0 / 6);
        Weight(graph, random, "conv1.b", [8], 0.1);
        Weight(graph, random, "conv2.w", [16, 8, 3, 3], 1.0 / 8.5);
        Weight(graph, random, "conv2.b", [16], 0.1);
        Weight(graph, random, "dw.w", [16, 1, 3, 3], 1.0 / 3);
        Weight(graph, random, "fc.w", [32, 16 * Side * Side], 1.0 / 32);
        Weight(graph, random, "fc.b", [32], 0.1);
        Weight(graph, random, "out.w", [32, Classes], 1.0 / 5.6);

        graph.Node.Add(Node("Conv", "conv1", [Input, "conv1.w", "conv1.b"], ["c1"], Ints("pads", 1, 1, 1, 1), Ints("kernel_shape", 3, 3)));
        graph.Node.Add(Node("Relu", "relu1", ["c1"], ["r1"]));
        graph.Node.Add(Node("Conv", "conv2", ["r1", "conv2.w", "conv2.b"], ["c2"], Ints("pads", 1, 1, 1, 1)));
        graph.Node.Add(Node("Relu", "relu2", ["c2"], ["r2"]));
        graph.Node.Add(Node("Conv", "dw", ["r2", "dw.w"], ["c3"], Ints("pads", 1, 1, 1, 1), Int("group", 16)));
        graph.Node.Add(Node("Relu", "relu3", ["c3"], ["r3"]));
        graph.Node.Add(Node("Flatten", "flatten", ["r3"], ["flat"], Int("axis", 1)));
        graph.Node.Add(Node("Gemm", "fc", ["flat", "fc.w", "fc.b"], ["f"], Int("transB", 1), Float("alpha", 0.5f), Float("beta", 2f)));
        graph.Node.Add(Node("Relu", "relu4", ["f"], ["r4"]));
        graph.Node.Add(Node("MatMul", "out", ["r4", "out.w"], [Output]));

        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "InferenceServer quantizer tests",
            ProducerVersion = "1",
            ModelVersion = 1,
            DocString = "small CNN for the quantizer tests",
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "ai.onnx.ml", Version = 3 });
        model.MetadataProps.Add(new StringStringEntryProto { Key = "author", Value = "tests" });
        File.WriteAllBytes(path, model.ToByteArray());
    }

    private static ValueInfoProto Value(string name, string batch, params long[] dims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = batch });
        foreach (var dim in dims)
        {
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = dim });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    private static void Weight(GraphProto graph, Random random, string name, long[] dims, double scale)
    {
        long count = 1;
        foreach (var dim in dims)
        {
            count *= dim;
        }
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(dims);
        // Stored as float_data rather than raw_data, so the quantizer's reader sees both layouts across the tests.
        for (var i = 0; i < count; i++)
        {
            tensor.FloatData.Add((float)(((random.NextDouble() * 2) - 1) * scale * 1.7));
        }
        graph.Initializer.Add(tensor);
    }

    private static NodeProto Node(string op, string name, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        return node;
    }

    private static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    private static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }
}
