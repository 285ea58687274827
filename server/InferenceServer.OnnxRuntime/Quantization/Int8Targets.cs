using InferenceServer.Core.Quantization;
using InferenceServer.OnnxRuntime.Quantization.Onnx;

namespace InferenceServer.OnnxRuntime.Quantization;

/// <summary>Which nodes the int8 methods look at: MatMul, Gemm and Conv of the default operator set, or the settings' subset.</summary>
internal static class Int8Targets
{
    private static readonly string[] Supported = ["MatMul", "Gemm", "Conv"];

    public static HashSet<string> From(QuantizeSettings settings)
    {
        if (settings.OperatorTypes.Count == 0)
        {
            return new HashSet<string>(Supported, StringComparer.Ordinal);
        }
        var chosen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in settings.OperatorTypes)
        {
            var match = Array.Find(Supported, s => string.Equals(s, name, StringComparison.OrdinalIgnoreCase));
            chosen.Add(match ?? throw new QuantizationException(
                $"operator type '{name}' cannot be quantized to int8; expected one or more of {string.Join(", ", Supported)}"));
        }
        return chosen;
    }

    public static bool IsTarget(NodeProto node, HashSet<string> targets) =>
        node.Domain is "" or "ai.onnx" && targets.Contains(node.OpType);

    /// <summary>The weight must be FP32: an FP16 or FP64 model is not the FP32 parent quantization starts from.</summary>
    public static void RequireFloat(TensorProto weight, string node)
    {
        if (weight.DataType != OnnxTensorData.Float)
        {
            throw new QuantizationException(
                $"the model is not FP32: {node} has a {OnnxTensorData.TypeName(weight.DataType)} weight '{weight.Name}'; quantize the FP32 model it came from");
        }
    }

    /// <summary>A row-major [rows, columns] matrix as [columns, rows].</summary>
    public static float[] Transpose(float[] data, long rows, long columns)
    {
        var transposed = new float[data.Length];
        for (long r = 0; r < rows; r++)
        {
            for (long c = 0; c < columns; c++)
            {
                transposed[(c * rows) + r] = data[(r * columns) + c];
            }
        }
        return transposed;
    }
}
