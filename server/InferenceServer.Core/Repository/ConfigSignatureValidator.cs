using InferenceServer.Core.Backends;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Repository;

/// <summary>
/// Checks that a (completed) config agrees with the model file: every configured tensor exists with
/// the same type and a compatible shape, every required model input is configured, and batching is
/// only claimed for a model whose leading dimension is dynamic.
/// </summary>
internal static class ConfigSignatureValidator
{
    /// <summary>Returns null when they agree, else the first contradiction as a sentence.</summary>
    public static string? FindMismatch(ModelConfig config, ModelSignature signature)
    {
        return Check(config, config.Input, signature.Inputs, "input")
            ?? Check(config, config.Output, signature.Outputs, "output")
            ?? MissingInput(config, signature);
    }

    private static string? Check(ModelConfig config, IReadOnlyList<IModelTensor> configured, IReadOnlyList<TensorInfo> actual, string kind)
    {
        foreach (var tensor in configured)
        {
            var info = actual.FirstOrDefault(a => a.Name == tensor.Name);
            if (info is null)
            {
                return $"config {kind} '{tensor.Name}' is not an {kind} of the model; the model's {kind}s are: {string.Join(", ", actual.Select(a => a.Name))}";
            }
            if (info.DataType != tensor.ElementType())
            {
                return $"config {kind} '{tensor.Name}' has data_type {tensor.ElementType().ConfigName()} but the model's is {info.DataType.ConfigName()}";
            }

            long[] modelView = [.. tensor.Reshape?.Shape ?? tensor.Dims];
            long[] configShape = config.MaxBatchSize > 0 ? [-1, .. modelView] : modelView;
            if (config.MaxBatchSize > 0 && (info.Shape.Length == 0 || info.Shape[0] != -1))
            {
                return $"config max_batch_size is {config.MaxBatchSize} but model {kind} '{tensor.Name}' has shape {ShapeMath.Format(info.Shape)} with no dynamic batch dimension; set max_batch_size: 0";
            }
            if (!Compatible(configShape, info.Shape))
            {
                var field = tensor.Reshape is null ? "dims" : "reshape";
                return $"config {kind} '{tensor.Name}' has {field} {ShapeMath.Format(modelView)}"
                    + (config.MaxBatchSize > 0 ? " (plus the batch dimension)" : "")
                    + $" but the model's shape is {ShapeMath.Format(info.Shape)}";
            }
        }
        return null;
    }

    private static string? MissingInput(ModelConfig config, ModelSignature signature)
    {
        foreach (var input in signature.Inputs)
        {
            if (!config.Input.Any(i => i.Name == input.Name))
            {
                return $"model input '{input.Name}' ({input.DataType.ConfigName()} {ShapeMath.Format(input.Shape)}) is missing from the config";
            }
        }
        return null;
    }

    // A model dimension of -1 accepts anything; a fixed model dimension needs the same fixed config dimension.
    private static bool Compatible(long[] configShape, long[] modelShape)
    {
        if (configShape.Length != modelShape.Length)
        {
            return false;
        }
        for (var i = 0; i < modelShape.Length; i++)
        {
            if (modelShape[i] != -1 && configShape[i] != modelShape[i])
            {
                return false;
            }
        }
        return true;
    }
}
