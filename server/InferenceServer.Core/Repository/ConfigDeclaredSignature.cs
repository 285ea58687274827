using InferenceServer.Core.Backends;

namespace InferenceServer.Core.Repository;

/// <summary>
/// The inputs and outputs a config declares, as a model file would declare them: in the config's order, each with the
/// shape the model itself sees (<c>reshape</c> when given, else <c>dims</c>) behind a dynamic batch dimension when the
/// model batches. For backends whose model files do not declare their tensors (TorchScript), this is the signature.
/// </summary>
public static class ConfigDeclaredSignature
{
    /// <summary>The config's declared signature.</summary>
    public static ModelSignature From(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new ModelSignature(Declare(config, config.Input), Declare(config, config.Output));
    }

    private static TensorInfo[] Declare(ModelConfig config, IReadOnlyList<IModelTensor> tensors)
    {
        var declared = new TensorInfo[tensors.Count];
        for (var i = 0; i < declared.Length; i++)
        {
            var tensor = tensors[i];
            long[] modelView = [.. tensor.Reshape?.Shape ?? tensor.Dims];
            declared[i] = new TensorInfo(tensor.Name, tensor.ElementType(), config.MaxBatchSize > 0 ? [-1, .. modelView] : modelView);
        }
        return declared;
    }
}
