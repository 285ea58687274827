using InferenceServer.Core.Lifecycle;
using InferenceServer.Protocols.Grpc.Messages;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// A RepositoryModelLoad request as <see cref="ModelLoadMarshaller"/> reads it: the request without its <c>file:</c>
/// parameters, whose contents were written to <see cref="Upload"/> as they were read. Whoever gets it disposes it (the
/// handler once the load is done, an interceptor that refuses the call), which lets the upload's files go.
/// </summary>
internal sealed class ModelLoadMessage(RepositoryModelLoadRequest request, ModelUpload? upload) : IDisposable
{
    /// <summary>The model's name and the parameters other than files (config, timeout, ...).</summary>
    public RepositoryModelLoadRequest Request { get; } = request;

    /// <summary>The files the request carried, already on disk; null when it carried none.</summary>
    public ModelUpload? Upload { get; } = upload;

    public void Dispose() => Upload?.Dispose();
}
