using InferenceServer.Core.Backends;

namespace InferenceServer.Core.Repository;

/// <summary>
/// Completes a config from the model file's own metadata, as Triton does when the config is not
/// strict: missing inputs, outputs, max_batch_size, platform/backend and instance groups are filled
/// in. A model whose every input and output has a leading dynamic dimension can batch.
/// </summary>
public static class ConfigAutoCompleter
{
    /// <summary>
    /// Returns <paramref name="config"/> with what it omits taken from <paramref name="signature"/>.
    /// <paramref name="defaultMaxBatchSize"/> is used when the config names no tensors at all
    /// (so says nothing about batching) and the model can batch.
    /// </summary>
    public static ModelConfig Complete(ModelConfig config, ModelSignature signature, IModelBackend backend, int defaultMaxBatchSize)
    {
        var completed = config;
        if (completed.Platform.Length == 0 && completed.Backend.Length == 0)
        {
            completed = completed with { Platform = backend.Platform, Backend = backend.Name };
        }
        else if (completed.Backend.Length == 0)
        {
            completed = completed with { Backend = backend.Name };
        }
        else if (completed.Platform.Length == 0)
        {
            completed = completed with { Platform = backend.Platform };
        }

        var saysNothingAboutTensors = config.Inputs.Count == 0 && config.Outputs.Count == 0;
        if (saysNothingAboutTensors && config.MaxBatchSize == 0 && CanBatch(signature))
        {
            // Triton pairs the default batch size with the dynamic batcher, so an auto-completed
            // model batches concurrent requests out of the box.
            completed = completed with
            {
                MaxBatchSize = defaultMaxBatchSize,
                DynamicBatching = completed.DynamicBatching ?? new DynamicBatchingConfig(),
            };
        }

        var batching = completed.MaxBatchSize > 0;
        if (completed.Inputs.Count == 0)
        {
            completed = completed with { Inputs = FromSignature(signature.Inputs, batching) };
        }
        if (completed.Outputs.Count == 0)
        {
            completed = completed with { Outputs = FromSignature(signature.Outputs, batching) };
        }
        if (completed.InstanceGroups.Count == 0)
        {
            completed = completed with { InstanceGroups = [new InstanceGroupConfig { Name = config.Name, Count = 1, Kind = InstanceKind.Cpu }] };
        }
        return completed;
    }

    /// <summary>True when every input and output of the model has a leading dynamic (-1) dimension.</summary>
    public static bool CanBatch(ModelSignature signature)
    {
        if (signature.Inputs.Count == 0)
        {
            return false;
        }
        foreach (var tensor in signature.Inputs.Concat(signature.Outputs))
        {
            if (tensor.Shape.Length == 0 || tensor.Shape[0] != -1)
            {
                return false;
            }
        }
        return true;
    }

    private static TensorConfig[] FromSignature(IReadOnlyList<TensorInfo> tensors, bool batching) =>
        tensors.Select(t => new TensorConfig
        {
            Name = t.Name,
            DataType = t.DataType,
            // A scalar has no batch dimension to drop; the validator then explains why it cannot batch.
            Dims = batching && t.Shape.Length > 0 ? t.Shape[1..] : t.Shape,
        }).ToArray();
}
