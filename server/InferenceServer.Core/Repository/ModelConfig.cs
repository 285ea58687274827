namespace InferenceServer.Core.Repository;

/// <summary>
/// A model's configuration: the subset of Triton's <c>ModelConfig</c> message this server uses,
/// with Triton's field names in snake_case noted on each property. Immutable; a changed config
/// is a new instance.
/// </summary>
public sealed record ModelConfig
{
    /// <summary><c>name</c>: must equal the model's folder name.</summary>
    public required string Name { get; init; }

    /// <summary><c>platform</c>, e.g. <c>onnxruntime_onnx</c>; empty when not given.</summary>
    public string Platform { get; init; } = "";

    /// <summary><c>backend</c>, e.g. <c>onnxruntime</c>; empty when not given.</summary>
    public string Backend { get; init; } = "";

    /// <summary><c>max_batch_size</c>: 0 means the model takes no batch dimension.</summary>
    public int MaxBatchSize { get; init; }

    /// <summary><c>input</c>.</summary>
    public IReadOnlyList<TensorConfig> Inputs { get; init; } = [];

    /// <summary><c>output</c>.</summary>
    public IReadOnlyList<TensorConfig> Outputs { get; init; } = [];

    /// <summary><c>version_policy</c>; Triton's default is the latest one version.</summary>
    public VersionPolicy VersionPolicy { get; init; } = VersionPolicy.Default;

    /// <summary><c>instance_group</c>; empty means one instance of kind AUTO.</summary>
    public IReadOnlyList<InstanceGroupConfig> InstanceGroups { get; init; } = [];

    /// <summary><c>dynamic_batching</c>; null when the model uses the default (one request per instance) scheduler.</summary>
    public DynamicBatchingConfig? DynamicBatching { get; init; }

    /// <summary><c>parameters</c> (each <c>string_value</c>), passed to the backend.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; init; } = new Dictionary<string, string>();

    /// <summary><c>model_warmup</c>.</summary>
    public IReadOnlyList<ModelWarmupConfig> ModelWarmup { get; init; } = [];

    /// <summary><c>optimization</c>; null when not given.</summary>
    public OptimizationConfig? Optimization { get; init; }

    /// <summary><c>default_model_filename</c>; empty means the backend's default.</summary>
    public string DefaultModelFilename { get; init; } = "";

    /// <summary>
    /// Fields of the config as written that the schema does not have, ignored when it was read. Not part of the
    /// configuration: carried so that a load that fails later can name them (<see cref="ModelConfigWarning.AppendUnknownFields"/>).
    /// </summary>
    public IReadOnlyList<ModelConfigWarning> UnknownFields { get; init; } = [];
}
