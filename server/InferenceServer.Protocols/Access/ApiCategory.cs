namespace InferenceServer.Protocols.Access;

/// <summary>
/// The group an endpoint belongs to, with Triton's names (health, metadata, inference, shared-memory, model-config,
/// model-repository, statistics, trace, logging) plus <c>metrics</c> for the Prometheus endpoint. Every REST route and
/// every gRPC method carries one as endpoint metadata; the restricted-API settings name them.
/// </summary>
public sealed class ApiCategory
{
    /// <summary>Liveness and readiness of the server and of models; gRPC's grpc.health.v1 too.</summary>
    public static readonly ApiCategory Health = new("health");

    /// <summary>Server and model metadata (and gRPC server reflection, which describes the service).</summary>
    public static readonly ApiCategory Metadata = new("metadata");

    /// <summary>Inference, unary and streaming.</summary>
    public static readonly ApiCategory Inference = new("inference");

    /// <summary>The system and CUDA shared-memory extensions.</summary>
    public static readonly ApiCategory SharedMemory = new("shared-memory");

    /// <summary>The model configuration extension.</summary>
    public static readonly ApiCategory ModelConfig = new("model-config");

    /// <summary>The model repository extension: index, load, unload.</summary>
    public static readonly ApiCategory ModelRepository = new("model-repository");

    /// <summary>The statistics extension.</summary>
    public static readonly ApiCategory Statistics = new("statistics");

    /// <summary>The trace extension.</summary>
    public static readonly ApiCategory Trace = new("trace");

    /// <summary>The logging extension.</summary>
    public static readonly ApiCategory Logging = new("logging");

    /// <summary>Prometheus' <c>/metrics</c> on the metrics port; not one of Triton's groups.</summary>
    public static readonly ApiCategory Metrics = new("metrics");

    /// <summary>Triton's groups, in its order; <see cref="Metrics"/> is not among them.</summary>
    public static IReadOnlyList<ApiCategory> Triton { get; } =
        [Health, Metadata, Inference, SharedMemory, ModelConfig, ModelRepository, Statistics, Trace, Logging];

    private ApiCategory(string name) => Name = name;

    /// <summary>The name the settings use, e.g. <c>model-repository</c>.</summary>
    public string Name { get; }

    /// <summary>The category named <paramref name="name"/> (exact spelling) among <paramref name="known"/>; null when none is.</summary>
    public static ApiCategory? Find(string name, IReadOnlyList<ApiCategory> known)
    {
        foreach (var category in known)
        {
            if (category.Name == name)
            {
                return category;
            }
        }
        return null;
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
