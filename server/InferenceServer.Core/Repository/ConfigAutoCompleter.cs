using InferenceServer.Core.Backends;

namespace InferenceServer.Core.Repository;

/// <summary>
/// Completes a config from the model file's own metadata, as Triton does when the config is not
/// strict: missing inputs, outputs, max_batch_size, platform/backend and instance groups are filled
/// in. A model whose every input and output has a leading dynamic dimension can batch.
/// </summary>
internal static class ConfigAutoCompleter
{
    /// <summary>
    /// Returns a copy of <paramref name="config"/> with what it omits taken from <paramref name="signature"/>.
    /// <paramref name="defaultMaxBatchSize"/> is used when the config names no tensors at all
    /// (so says nothing about batching) and the model can batch.
    /// </summary>
    public static ModelConfig Complete(ModelConfig config, ModelSignature signature, IModelBackend backend, int defaultMaxBatchSize)
    {
        var completed = config.Clone();
        if (completed.Platform.Length == 0)
        {
            completed.Platform = backend.Platform;
        }
        if (completed.Backend.Length == 0)
        {
            completed.Backend = backend.Name;
        }

        var saysNothingAboutTensors = config.Input.Count == 0 && config.Output.Count == 0;
        if (saysNothingAboutTensors && config.MaxBatchSize == 0 && CanBatch(signature))
        {
            // Triton pairs the default batch size with the dynamic batcher, so an auto-completed
            // model batches concurrent requests out of the box.
            completed.MaxBatchSize = defaultMaxBatchSize;
            if (completed.SchedulingChoiceCase == ModelConfig.SchedulingChoiceOneofCase.None)
            {
                completed.DynamicBatching = new ModelDynamicBatching();
            }
        }

        var batching = completed.MaxBatchSize > 0;
        if (completed.Input.Count == 0)
        {
            foreach (var tensor in signature.Inputs)
            {
                var input = new ModelInput { Name = tensor.Name, DataType = tensor.DataType.ToConfigType() };
                input.Dims.Add(Dims(tensor, batching));
                completed.Input.Add(input);
            }
        }
        if (completed.Output.Count == 0)
        {
            foreach (var tensor in signature.Outputs)
            {
                var output = new ModelOutput { Name = tensor.Name, DataType = tensor.DataType.ToConfigType() };
                output.Dims.Add(Dims(tensor, batching));
                completed.Output.Add(output);
            }
        }
        if (completed.InstanceGroup.Count == 0)
        {
            completed.InstanceGroup.Add(new ModelInstanceGroup { Name = config.Name, Count = 1, Kind = ModelInstanceGroup.Types.Kind.Cpu });
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

    // A scalar has no batch dimension to drop; the validator then explains why it cannot batch.
    private static long[] Dims(TensorInfo tensor, bool batching) =>
        batching && tensor.Shape.Length > 0 ? tensor.Shape[1..] : tensor.Shape;
}
