namespace InferenceServer.Core.Repository;

/// <summary>
/// The field names of each message of Triton's <c>model_config.proto</c> that the config reader walks, so an unknown
/// field can be answered with the closest real one at its nesting level. Core cannot see the generated descriptor
/// (it lives with the protocols), so the names are listed here; a unit test holds every list equal to the descriptor.
/// </summary>
internal static class ModelConfigFields
{
    /// <summary><c>ModelConfig</c>.</summary>
    public static readonly string[] Model =
    [
        "name", "platform", "backend", "runtime", "version_policy", "max_batch_size", "input", "output", "batch_input",
        "batch_output", "optimization", "dynamic_batching", "sequence_batching", "ensemble_scheduling", "instance_group",
        "default_model_filename", "cc_model_filenames", "metric_tags", "parameters", "model_warmup", "model_operations",
        "model_transaction_policy", "model_repository_agents", "response_cache", "model_metrics",
    ];

    /// <summary><c>ModelInput</c>.</summary>
    public static readonly string[] Input =
    [
        "name", "data_type", "format", "dims", "reshape", "is_shape_tensor", "allow_ragged_batch", "optional", "is_non_linear_format_io",
    ];

    /// <summary><c>ModelOutput</c>.</summary>
    public static readonly string[] Output = ["name", "data_type", "dims", "reshape", "label_filename", "is_shape_tensor", "is_non_linear_format_io"];

    /// <summary><c>ModelTensorReshape</c>.</summary>
    public static readonly string[] Reshape = ["shape"];

    /// <summary><c>ModelVersionPolicy</c>.</summary>
    public static readonly string[] VersionPolicy = ["latest", "all", "specific"];

    /// <summary><c>ModelVersionPolicy.Latest</c>.</summary>
    public static readonly string[] VersionPolicyLatest = ["num_versions"];

    /// <summary><c>ModelVersionPolicy.All</c>.</summary>
    public static readonly string[] VersionPolicyAll = [];

    /// <summary><c>ModelVersionPolicy.Specific</c>.</summary>
    public static readonly string[] VersionPolicySpecific = ["versions"];

    /// <summary><c>ModelInstanceGroup</c>.</summary>
    public static readonly string[] InstanceGroup = ["name", "kind", "count", "rate_limiter", "gpus", "secondary_devices", "profile", "passive", "host_policy"];

    /// <summary><c>ModelDynamicBatching</c>.</summary>
    public static readonly string[] DynamicBatching =
    [
        "preferred_batch_size", "max_queue_delay_microseconds", "preserve_ordering", "priority_levels", "default_priority_level",
        "default_queue_policy", "priority_queue_policy",
    ];

    /// <summary><c>ModelQueuePolicy</c>.</summary>
    public static readonly string[] QueuePolicy = ["timeout_action", "default_timeout_microseconds", "allow_timeout_override", "max_queue_size"];

    /// <summary><c>ModelParameter</c>.</summary>
    public static readonly string[] Parameter = ["string_value"];

    /// <summary><c>ModelWarmup</c>.</summary>
    public static readonly string[] Warmup = ["name", "batch_size", "inputs", "count"];

    /// <summary><c>ModelWarmup.Input</c>.</summary>
    public static readonly string[] WarmupInput = ["data_type", "dims", "zero_data", "random_data", "input_data_file"];

    /// <summary><c>ModelOptimizationPolicy</c>.</summary>
    public static readonly string[] Optimization =
    [
        "graph", "priority", "cuda", "execution_accelerators", "input_pinned_memory", "output_pinned_memory",
        "gather_kernel_buffer_threshold", "eager_batching",
    ];

    /// <summary><c>ModelOptimizationPolicy.Graph</c>.</summary>
    public static readonly string[] OptimizationGraph = ["level"];

    /// <summary><c>ModelOptimizationPolicy.ExecutionAccelerators</c>.</summary>
    public static readonly string[] ExecutionAccelerators = ["gpu_execution_accelerator", "cpu_execution_accelerator"];

    /// <summary><c>ModelOptimizationPolicy.ExecutionAccelerators.Accelerator</c>.</summary>
    public static readonly string[] Accelerator = ["name", "parameters"];

    /// <summary><c>ModelTransactionPolicy</c>.</summary>
    public static readonly string[] TransactionPolicy = ["decoupled"];

    /// <summary><c>ModelResponseCache</c>.</summary>
    public static readonly string[] ResponseCache = ["enable"];

    /// <summary>The entry message of every map field.</summary>
    public static readonly string[] MapEntry = ["key", "value"];
}
