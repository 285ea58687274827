using InferenceServer.Core.Features;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Inference;

/// <summary>The result of a request: the outputs it asked for, owned by the response until it is disposed.</summary>
public sealed class InferenceResponse(string modelName, string modelVersion, string id, Tensor[] outputs) : IDisposable
{
    /// <summary>The model that answered.</summary>
    public string ModelName { get; } = modelName;

    /// <summary>The version that answered.</summary>
    public string ModelVersion { get; } = modelVersion;

    /// <summary>The name of the response parameter that names the variant that answered (REST and gRPC alike).</summary>
    public const string VariantParameter = "variant";

    /// <summary>The request's id (one the server gave it when the request had none and its route joins outcomes to ids).</summary>
    public string Id { get; } = id;

    /// <summary>The variant of a route that answered; null when the request went to a model (or a named version) directly.</summary>
    public string? Variant { get; internal set; }

    /// <summary>The header (gRPC: trailer) that names <see cref="Variant"/> to the client, as the route declares it; null without a variant.</summary>
    public string? VariantHeader { get; internal set; }

    /// <summary>The feature view that made the request's inputs (from an entity or a raw record); null when the client sent them.</summary>
    public FeatureView? FeatureView { get; internal set; }

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
