using InferenceServer.Core.Backends;

namespace InferenceServer.LibTorch;

/// <summary>
/// Runs TorchScript models (<c>model.pt</c>, Triton's <c>platform: "pytorch_libtorch"</c> / <c>backend: "pytorch"</c>) with
/// LibTorch through TorchSharp. A TorchScript file does not declare its tensors' shapes or types, so the config must list
/// every input and output; auto-complete cannot fill them in.
/// </summary>
public sealed class LibTorchBackend : IModelBackend
{
    /// <inheritdoc />
    public string Name => "pytorch";

    /// <inheritdoc />
    public string Platform => "pytorch_libtorch";

    /// <inheritdoc />
    public string DefaultModelFilename => "model.pt";

    /// <inheritdoc />
    /// <remarks>
    /// LibTorch is loaded by the first TorchScript model, not at start: it costs about 110 MB of resident memory, which a
    /// server that serves only ONNX models should not pay. Until then the version is the package's the server was built with.
    /// </remarks>
    public BackendRuntime Runtime
    {
        get
        {
            if (!LibTorchRuntime.IsLoaded)
            {
                return new BackendRuntime(Name, "LibTorch", LibTorchRuntime.PackageVersion, LibTorchRuntime.Flavor);
            }
            try
            {
                return new BackendRuntime(Name, "LibTorch", LibTorchRuntime.Shared.Version, LibTorchRuntime.Flavor);
            }
            catch (BackendException e)
            {
                return new BackendRuntime(Name, "LibTorch", $"unavailable: {e.Message}", LibTorchRuntime.Flavor);
            }
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<int> GpuDevices
    {
        get
        {
            try
            {
                return Enumerable.Range(0, LibTorchRuntime.Shared.GpuCount).ToArray();
            }
            catch (BackendException)
            {
                return [];
            }
        }
    }

    /// <inheritdoc />
    public IModelInstance CreateInstance(InstanceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return LibTorchInstance.Create(options);
    }
}
