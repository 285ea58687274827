using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Inference;

/// <summary>The result of a request: the outputs it asked for, owned by the response until it is disposed.</summary>
public sealed class InferenceResponse(string modelName, string modelVersion, string id, Tensor[] outputs) : IDisposable
{
    /// <summary>The model that answered.</summary>
    public string ModelName { get; } = modelName;

    /// <summary>The version that answered.</summary>
    public string ModelVersion { get; } = modelVersion;

    /// <summary>The request's id.</summary>
    public string Id { get; } = id;

    /// <summary>Output tensors, in the order requested (or the config's order when all were requested).</summary>
    public Tensor[] Outputs { get; } = outputs;

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var output in Outputs)
        {
            output.Dispose();
        }
    }
}
