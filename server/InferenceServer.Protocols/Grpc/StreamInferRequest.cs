using InferenceServer.Core.Inference;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// One message of a <c>ModelStreamInfer</c> stream as its marshaller decoded it: the request, or why it could not be
/// decoded together with the ids to answer with. A bad message fails only itself, so the error travels to the
/// stream's handler instead of ending the call from inside the marshaller.
/// </summary>
internal sealed class StreamInferRequest
{
    private StreamInferRequest(InferenceRequest? request, string? error, string modelName, string modelVersion, string id)
    {
        Request = request;
        Error = error;
        ModelName = modelName;
        ModelVersion = modelVersion;
        Id = id;
    }

    /// <summary>The decoded request (its tensors pooled; the handler disposes it), or null when decoding failed.</summary>
    public InferenceRequest? Request { get; }

    /// <summary>Why the message could not be decoded, or null.</summary>
    public string? Error { get; }

    public string ModelName { get; }

    public string ModelVersion { get; }

    public string Id { get; }

    public static StreamInferRequest Decoded(InferenceRequest request) =>
        new(request, null, request.ModelName, request.ModelVersion ?? "", request.Id);

    public static StreamInferRequest Failed(string error, string modelName, string modelVersion, string id) =>
        new(null, error, modelName, modelVersion, id);
}
