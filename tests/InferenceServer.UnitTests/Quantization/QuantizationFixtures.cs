using System.Runtime.InteropServices;
using Google.Protobuf;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Tensors;
using InferenceServer.OnnxRuntime;
using InferenceServer.OnnxRuntime.Quantization;
using InferenceServer.OnnxRuntime.Quantization.Onnx;

namespace InferenceServer.UnitTests.Quantization;

/// <summary>Inputs for the quantizer's tests, and running a model file in ONNX Runtime through the backend.</summary>
internal static class QuantizationFixtures
{
    public static string Income => Path.Combine(RepositoryPaths.Models, "income", "1", "model.onnx");

    /// <summary>
    /// Rows shaped like income's encoded records: five standardized numbers, then 53 one-hot flags, about one in ten set.
    /// </summary>
    public static float[] IncomeRows(int rows, int seed)
    {
        var random = new Random(seed);
        var data = new float[rows * 58];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < 58; c++)
            {
                data[(r * 58) + c] = c < 5 ? (float)((random.NextDouble() * 5) - 1.5) : random.NextDouble() < 0.1 ? 1f : 0f;
            }
        }
        return data;
    }

    public static float[] Uniform(int count, int seed, float low = -1f, float high = 1f)
    {
        var random = new Random(seed);
        var data = new float[count];
        for (var i = 0; i < count; i++)
        {
            data[i] = low + ((high - low) * (float)random.NextDouble());
        }
        return data;
    }

    public static Tensor Floats(string name, long[] shape, ReadOnlySpan<float> values) =>
        Tensor.Copy(name, DataType.Fp32, shape, MemoryMarshal.AsBytes(values));

    public static IModelInstance Load(string path) =>
        new OnnxRuntimeBackend().CreateInstance(new InstanceOptions(path, InstanceKind.Cpu, 0, new Dictionary<string, string>()));

    /// <summary>Runs the model once on one FP32 input and returns its first output's values.</summary>
    public static float[] Run(IModelInstance instance, string input, long[] shape, float[] values)
    {
        using var tensor = Floats(input, shape, values);
        var outputs = instance.Run([tensor], [instance.Signature.Outputs[0].Name]);
        try
        {
            return MemoryMarshal.Cast<byte, float>(outputs[0].Data).ToArray();
        }
        finally
        {
            foreach (var output in outputs)
            {
                output.Dispose();
            }
        }
    }

    /// <summary>Largest and mean absolute difference.</summary>
    public static (double Max, double Mean) Difference(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        double max = 0;
        double sum = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            var difference = Math.Abs((double)expected[i] - actual[i]);
            Assert.False(double.IsNaN(difference), $"element {i}: {actual[i]} where FP32 gives {expected[i]}");
            max = Math.Max(max, difference);
            sum += difference;
        }
        return (max, sum / expected.Length);
    }

/// <summary>X [batch, 16] ─MatMul─▶ h ─<paramref name="op"/>─▶ Y, written with our own onnx.proto.</summary>
    public static void WriteMatMulThen(string op, string path, long opset = 17)
    {
        var type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = new TensorShapeProto() } };
        type.TensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        type.TensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = 16 });
        var model = new ModelProto { IrVersion = 8, Graph = new GraphProto { Name = "matmul_then_" + op } };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        model.Graph.Input.Add(new ValueInfoProto { Name = "X", Type = type });
        model.Graph.Output.Add(new ValueInfoProto { Name = "Y", Type = type.Clone() });
        model.Graph.Initializer.Add(OnnxTensorData.Floats("w", [16, 16], Uniform(256, seed: 7)));
        var matMul = new NodeProto { OpType = "MatMul", Name = "matmul", Input = { "X", "w" }, Output = { "h" } };
        var then = new NodeProto { OpType = op, Name = "then", Input = { "h" }, Output = { "Y" } };
        model.Graph.Node.Add(matMul);
        model.Graph.Node.Add(then);
        File.WriteAllBytes(path, model.ToByteArray());
    }

    /// <summary>A fresh folder for one test's variant files, removed by the caller.</summary>
    public static string TemporaryFolder()
    {
        var folder = Path.Combine(Path.GetTempPath(), "quantizer-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        return folder;
    }
}
