using InferenceServer.Core.Backends;

namespace InferenceServer.Core.Serving;

/// <summary>What <c>GET /v2</c> reports about the server.</summary>
public sealed class ServerInfo
{
    /// <summary>The server's name.</summary>
    public string Name { get; init; } = "inference-server";

    /// <summary>The server's version (the assembly's informational version).</summary>
    public string Version { get; init; } = typeof(ServerInfo).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>The v2 protocol extensions this server implements.</summary>
    /// <remarks>
    /// Triton's names. Not listed, because not implemented: classification, system_shared_memory, cuda_shared_memory,
    /// trace, logging, generate (their REST paths answer 501).
    /// </remarks>
    public IReadOnlyList<string> Extensions { get; init; } =
        ["binary_tensor_data", "model_repository", "model_repository(unload_dependents)", "model_configuration", "schedule_policy", "parameters", "statistics"];

    /// <summary>
    /// The runtimes behind the backends (e.g. ONNX Runtime 1.32.0, cpu build). REST reports them in an extra
    /// <c>backends</c> field, which KServe clients ignore; KServe's gRPC ServerMetadataResponse has no field for them.
    /// </summary>
    public IReadOnlyList<BackendRuntime> Backends { get; init; } = [];
}
