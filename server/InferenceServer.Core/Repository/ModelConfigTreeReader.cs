using InferenceServer.Core.Backends;
using InferenceServer.Core.Repository.TextFormat;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Repository;

/// <summary>
/// Turns a parsed text-format tree into a <see cref="ModelConfig"/>, following the field names,
/// types and enum values of Triton's <c>model_config.proto</c>. Types are checked here (the
/// tree carries none), along with the validation that needs no model file. Single use.
/// </summary>
internal sealed class ModelConfigTreeReader
{
    // Enum names indexed by their proto numbers, so a number in the file (legal text format)
    // maps to the same value as the name.
    private static readonly string[] DataTypeNames =
    [
        "TYPE_INVALID", "TYPE_BOOL", "TYPE_UINT8", "TYPE_UINT16", "TYPE_UINT32", "TYPE_UINT64",
        "TYPE_INT8", "TYPE_INT16", "TYPE_INT32", "TYPE_INT64", "TYPE_FP16", "TYPE_FP32", "TYPE_FP64",
        "TYPE_STRING", "TYPE_BF16",
    ];
    private static readonly string[] KindNames = ["KIND_AUTO", "KIND_GPU", "KIND_CPU", "KIND_MODEL"];
    private static readonly string[] FormatNames = ["FORMAT_NONE", "FORMAT_NHWC", "FORMAT_NCHW"];
    private static readonly string[] PriorityNames = ["PRIORITY_DEFAULT", "PRIORITY_MAX", "PRIORITY_MIN"];
    private static readonly string[] TimeoutActionNames = ["REJECT", "DELAY"];

    // ModelConfig fields that exist in Triton, that this server does not act on, and whose absence changes nothing a
    // client sees (metric labels, per-GPU model files): warned about and ignored. A field that asks for behaviour this
    // server does not have (a scheduler, a cache, decoupled responses) fails the load instead; see ReadUnsupportedFeature.
    private static readonly string[] IgnoredTopLevel = ["cc_model_filenames", "metric_tags", "model_metrics"];

    private readonly string _fileName;
    private readonly List<ModelConfigWarning> _warnings = [];
    private readonly HashSet<string> _warnedPaths = new(StringComparer.Ordinal);

    public ModelConfigTreeReader(string fileName)
    {
        _fileName = fileName;
    }

    public IReadOnlyList<ModelConfigWarning> Warnings => _warnings;

    /// <summary>
    /// Reads the config. A failure's message ends with the unknown fields ignored before it, since a misspelt field
    /// is the likeliest cause of the error that follows it.
    /// </summary>
    public ModelConfig Read(TextMessage root)
    {
        try
        {
            return ReadConfig(root);
        }
        catch (ModelConfigException e)
        {
            throw e.WithUnknownFields(UnknownFields());
        }
    }

    private List<ModelConfigWarning> UnknownFields() => _warnings.FindAll(w => w.IsUnknownField);

    private ModelConfig ReadConfig(TextMessage root)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string name = "", platform = "", backend = "", defaultModelFilename = "";
        var maxBatchSize = 0;
        var inputs = new List<TensorEntry>();
        var outputs = new List<TensorEntry>();
        var versionPolicy = VersionPolicy.Default;
        var groups = new List<InstanceGroupConfig>();
        DynamicBatchingConfig? dynamicBatching = null;
        var preferredFields = new List<TextField>();
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        var parameterCount = 0;
        var warmups = new List<(ModelWarmupConfig Config, TextField Field, TextField? BatchSizeField)>();
        OptimizationConfig? optimization = null;
        TextField? scheduling = null;
        var runtime = "";
        TextField? runtimeField = null;

        foreach (var f in root.Fields)
        {
            var path = f.Name;
            switch (f.Name)
            {
                case "name":
                    Singular(seen, f, path);
                    name = ReadString(f, path);
                    break;
                case "platform":
                    Singular(seen, f, path);
                    platform = ReadString(f, path);
                    if (platform == "ensemble")
                    {
                        throw ValueError(f, path, "ensemble models are not supported by this server");
                    }
                    break;
                case "backend":
                    Singular(seen, f, path);
                    backend = ReadString(f, path);
                    break;
                case "default_model_filename":
                    Singular(seen, f, path);
                    defaultModelFilename = ReadString(f, path);
                    break;
                case "max_batch_size":
                    Singular(seen, f, path);
                    maxBatchSize = ReadInt32(f, path, 0, int.MaxValue);
                    break;
                case "input":
                    inputs.Add(ReadTensor(f, $"input[{inputs.Count}]", isInput: true));
                    break;
                case "output":
                    outputs.Add(ReadTensor(f, $"output[{outputs.Count}]", isInput: false));
                    break;
                case "version_policy":
                    Singular(seen, f, path);
                    versionPolicy = ReadVersionPolicy(f, path);
                    break;
                case "instance_group":
                    groups.Add(ReadInstanceGroup(f, $"instance_group[{groups.Count}]"));
                    break;
                case "dynamic_batching":
                    Singular(seen, f, path);
                    OneOf(ref scheduling, f, path);
                    dynamicBatching = ReadDynamicBatching(f, path, preferredFields);
                    break;
                case "sequence_batching" or "ensemble_scheduling":
                    Singular(seen, f, path);
                    OneOf(ref scheduling, f, path);
                    ReadUnsupportedFeature(f, path);
                    break;
                case "runtime":
                    Singular(seen, f, path);
                    runtime = ReadString(f, path);
                    runtimeField = f;
                    break;
                case "batch_input" or "batch_output":
                    ReadUnsupportedFeature(f, path);
                    break;
                case "model_operations" or "model_transaction_policy" or "model_repository_agents" or "response_cache":
                    Singular(seen, f, path);
                    ReadUnsupportedFeature(f, path);
                    break;
                case "parameters":
                    ReadParameter(f, $"parameters[{parameterCount++}]", parameters);
                    break;
                case "model_warmup":
                    warmups.Add(ReadWarmup(f, $"model_warmup[{warmups.Count}]"));
                    break;
                case "optimization":
                    Singular(seen, f, path);
                    optimization = ReadOptimization(f, path);
                    break;
                default:
                    if (Array.IndexOf(IgnoredTopLevel, f.Name) >= 0)
                    {
                        Unsupported(f, path, isMessage: true);
                    }
                    else
                    {
                        Unknown(f, path, ModelConfigFields.Model);
                    }
                    break;
            }
        }

        // Triton's default runtime for a backend is that backend's own library; any other runtime is custom code.
        if (runtimeField is not null && runtime.Length > 0 && runtime != $"libtriton_{backend}.so")
        {
            throw ValueError(runtimeField, "runtime", $"runtime '{runtime}' is not supported by this server: it runs models with its own backends, not backend libraries or Python models");
        }

        CheckTensors(inputs, "input", maxBatchSize);
        CheckTensors(outputs, "output", maxBatchSize);
        foreach (var preferred in preferredFields)
        {
            if (TextScalars.TryParseInt64(preferred.Text, out var size) && size > maxBatchSize)
            {
                throw ValueError(preferred, "dynamic_batching.preferred_batch_size",
                    $"preferred batch size {size} is larger than max_batch_size {maxBatchSize}");
            }
        }
        for (var i = 0; i < warmups.Count; i++)
        {
            var (warmup, field, batchSizeField) = warmups[i];
            if (maxBatchSize > 0 && warmup.BatchSize > maxBatchSize)
            {
                throw ValueError(batchSizeField ?? field, $"model_warmup[{i}].batch_size",
                    $"warm-up batch size {warmup.BatchSize} is larger than max_batch_size {maxBatchSize}");
            }
            if (inputs.Count == 0)
            {
                // Inputs left to auto-completion from the model file cannot be checked here.
                continue;
            }
            foreach (var inputName in warmup.Inputs.Keys)
            {
                if (!inputs.Exists(e => e.Config.Name == inputName))
                {
                    throw FieldError(field, $"model_warmup[{i}].inputs", $"warm-up input '{inputName}' is not an input of the model");
                }
            }
        }

        return new ModelConfig
        {
            Name = name,
            Platform = platform,
            Backend = backend,
            MaxBatchSize = maxBatchSize,
            Inputs = inputs.ConvertAll(e => e.Config),
            Outputs = outputs.ConvertAll(e => e.Config),
            VersionPolicy = versionPolicy,
            InstanceGroups = groups,
            DynamicBatching = dynamicBatching,
            Parameters = parameters,
            ModelWarmup = warmups.ConvertAll(w => w.Config),
            Optimization = optimization,
            DefaultModelFilename = defaultModelFilename,
            UnknownFields = UnknownFields(),
        };
    }

    // A field that asks for behaviour this server does not implement. Serving the model as if the field were absent
    // would answer differently from what its author asked (a stateful model as stateless, a decoupled one with one
    // response), so the load fails naming the feature. Settings that ask for nothing (enable: false, an empty
    // message) are accepted.
    private void ReadUnsupportedFeature(TextField f, string path)
    {
        var message = ReadMessage(f, path);
        switch (f.Name)
        {
            case "sequence_batching":
                throw FieldError(f, path, "stateful models (sequence batching) are not supported by this server");
            case "ensemble_scheduling":
                throw FieldError(f, path, "ensemble models are not supported by this server");
            case "batch_input" or "batch_output":
                throw FieldError(f, path, "batch inputs and outputs (ragged batching) are not supported by this server");
            case "response_cache":
                if (ReadEnableFlag(message, path, "enable", ModelConfigFields.ResponseCache))
                {
                    throw FieldError(f, path, "the response cache is not supported by this server; set 'enable: false' or remove it");
                }
                break;
            case "model_transaction_policy":
                if (ReadEnableFlag(message, path, "decoupled", ModelConfigFields.TransactionPolicy))
                {
                    throw FieldError(f, path, "decoupled models (any number of responses per request) are not supported by this server");
                }
                break;
            case "model_repository_agents":
                if (message.Fields.Count > 0)
                {
                    throw FieldError(f, path, "repository agents (such as checksum or decryption) are not supported by this server");
                }
                break;
            case "model_operations":
                if (message.Fields.Count > 0)
                {
                    throw FieldError(f, path, "custom operation libraries are not supported by this server");
                }
                break;
            case "rate_limiter":
                if (message.Fields.Count > 0)
                {
                    throw FieldError(f, path, "the rate limiter (instance resources and priority) is not supported by this server");
                }
                break;
        }
    }

    // The one bool of a small message such as response_cache { enable: true }.
    private bool ReadEnableFlag(TextMessage message, string path, string name, string[] known)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var value = false;
        foreach (var g in message.Fields)
        {
            var p = $"{path}.{g.Name}";
            if (g.Name == name)
            {
                Singular(seen, g, p);
                value = ReadBool(g, p);
            }
            else
            {
                Unknown(g, p, known);
            }
        }
        return value;
    }

    private void CheckTensors(List<TensorEntry> tensors, string what, int maxBatchSize)
    {
        for (var i = 0; i < tensors.Count; i++)
        {
            var entry = tensors[i];
            var earlier = tensors.FindIndex(0, i, e => e.Config.Name == entry.Config.Name);
            if (earlier >= 0)
            {
                throw FieldError(entry.NameField ?? entry.Field, $"{what}[{i}].name",
                    $"duplicate {what} name '{entry.Config.Name}' (also {what}[{earlier}])");
            }
            if (maxBatchSize == 0 && entry.ReshapeField is { } reshapeField && entry.Config.Reshape is { Length: 0 })
            {
                // Without a batch dimension an empty reshape would make the tensor always empty.
                throw FieldError(reshapeField, $"{what}[{i}].reshape", "reshape cannot be empty for a model with max_batch_size 0");
            }
        }
    }

    private TensorEntry ReadTensor(TextField f, string path, bool isInput)
    {
        var message = ReadMessage(f, path);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var name = "";
        TextField? nameField = null;
        var dataType = DataType.Invalid;
        var dims = new List<long>();
        long[]? reshape = null;
        TextField? reshapeField = null;
        var optional = false;
        var format = "";
        TextField? formatField = null;
        var labelFilename = "";

        foreach (var g in message.Fields)
        {
            var p = $"{path}.{g.Name}";
            switch (g.Name)
            {
                case "name":
                    Singular(seen, g, p);
                    name = ReadString(g, p);
                    nameField = g;
                    break;
                case "data_type":
                    Singular(seen, g, p);
                    dataType = ReadDataType(g, p);
                    break;
                case "dims":
                    dims.Add(ReadDim(g, $"{p}[{dims.Count}]", allowWildcard: true));
                    break;
                case "reshape":
                    Singular(seen, g, p);
                    reshape = ReadReshape(g, p);
                    reshapeField = g;
                    break;
                case "optional" when isInput:
                    Singular(seen, g, p);
                    optional = ReadBool(g, p);
                    break;
                case "format" when isInput:
                    Singular(seen, g, p);
                    format = FormatNames[ReadEnum(g, p, FormatNames, "format")];
                    formatField = g;
                    break;
                case "label_filename" when !isInput:
                    Singular(seen, g, p);
                    labelFilename = ReadString(g, p);
                    break;
                case "is_shape_tensor" or "is_non_linear_format_io":
                case "allow_ragged_batch" when isInput:
                    // TensorRT-only or batching refinements: harmless when off, worth a warning when on.
                    Singular(seen, g, p);
                    if (ReadBool(g, p))
                    {
                        Warn(g, p, $"field '{p}' is not supported by this server; ignored");
                    }
                    break;
                default:
                    Unknown(g, p, isInput ? ModelConfigFields.Input : ModelConfigFields.Output);
                    break;
            }
        }

        if (name.Length == 0)
        {
            throw FieldError(nameField ?? f, $"{path}.name", "must specify a non-empty 'name'");
        }
        if (dataType == DataType.Invalid)
        {
            throw FieldError(f, $"{path}.data_type", "must specify 'data_type'");
        }
        if (dims.Count == 0)
        {
            throw FieldError(f, $"{path}.dims", "must specify 'dims'");
        }
        var dimsArray = dims.ToArray();
        CheckElementCount(dimsArray, f, $"{path}.dims");
        if (formatField is not null && format != "FORMAT_NONE" && dimsArray.Length != 3)
        {
            throw ValueError(formatField, $"{path}.format", $"{format} needs exactly 3 dims (without the batch dimension), got {ShapeMath.Format(dimsArray)}");
        }
        if (reshape is not null && reshapeField is not null)
        {
            CheckElementCount(reshape, reshapeField, $"{path}.reshape.shape");
            if (Array.IndexOf(dimsArray, -1L) < 0 && Array.IndexOf(reshape, -1L) < 0
                && ShapeMath.ElementCount(dimsArray) != ShapeMath.ElementCount(reshape))
            {
                throw FieldError(reshapeField, $"{path}.reshape",
                    $"reshape {ShapeMath.Format(reshape)} has {ShapeMath.ElementCount(reshape)} elements but dims {ShapeMath.Format(dimsArray)} has {ShapeMath.ElementCount(dimsArray)}");
            }
        }

        var config = new TensorConfig
        {
            Name = name,
            DataType = dataType,
            Dims = dimsArray,
            Reshape = reshape,
            Optional = optional,
            Format = format,
            LabelFilename = labelFilename,
        };
        return new TensorEntry(config, f, nameField, reshapeField);
    }

    private void CheckElementCount(long[] shape, TextField f, string path)
    {
        long count = 1;
        foreach (var dim in shape)
        {
            if (dim <= 0)
            {
                continue;
            }
            if (count > long.MaxValue / dim)
            {
                throw FieldError(f, path, $"shape {ShapeMath.Format(shape)} has more elements than fit in 64 bits");
            }
            count *= dim;
        }
    }

    private long[] ReadReshape(TextField f, string path)
    {
        var message = ReadMessage(f, path);
        var shape = new List<long>();
        foreach (var g in message.Fields)
        {
            var p = $"{path}.{g.Name}";
            if (g.Name == "shape")
            {
                shape.Add(ReadDim(g, $"{p}[{shape.Count}]", allowWildcard: true));
            }
            else
            {
                Unknown(g, p, ModelConfigFields.Reshape);
            }
        }
        return shape.ToArray();
    }

    private long ReadDim(TextField f, string path, bool allowWildcard)
    {
        var dim = ReadInt64(f, path, long.MinValue, long.MaxValue);
        if (allowWildcard ? dim == 0 || dim < -1 : dim < 0)
        {
            throw ValueError(f, path, allowWildcard
                ? $"dimension must be >= 1, or -1 for a variable size, got {dim}"
                : $"dimension must not be negative, got {dim}");
        }
        return dim;
    }

    private VersionPolicy ReadVersionPolicy(TextField f, string path)
    {
        var message = ReadMessage(f, path);
        TextField? choice = null;
        var policy = VersionPolicy.Default;
        foreach (var g in message.Fields)
        {
            var p = $"{path}.{g.Name}";
            switch (g.Name)
            {
                case "latest":
                {
                    OneOf(ref choice, g, p);
                    var numVersions = 0;
                    var seen = new HashSet<string>(StringComparer.Ordinal);
                    foreach (var h in ReadMessage(g, p).Fields)
                    {
                        var q = $"{p}.{h.Name}";
                        if (h.Name == "num_versions")
                        {
                            Singular(seen, h, q);
                            numVersions = ReadInt32(h, q, 0, int.MaxValue);
                            if (numVersions == 0)
                            {
                                throw ValueError(h, q, "must be at least 1");
                            }
                        }
                        else
                        {
                            Unknown(h, q, ModelConfigFields.VersionPolicyLatest);
                        }
                    }
                    if (numVersions == 0)
                    {
                        // Absent means 0 in proto3, which would serve no version at all.
                        throw FieldError(g, $"{p}.num_versions", "must specify 'num_versions' of at least 1");
                    }
                    policy = new VersionPolicy { Kind = VersionPolicyKind.Latest, NumVersions = numVersions };
                    break;
                }
                case "all":
                    OneOf(ref choice, g, p);
                    foreach (var h in ReadMessage(g, p).Fields)
                    {
                        Unknown(h, $"{p}.{h.Name}", ModelConfigFields.VersionPolicyAll);
                    }
                    policy = new VersionPolicy { Kind = VersionPolicyKind.All };
                    break;
                case "specific":
                {
                    OneOf(ref choice, g, p);
                    var versions = new List<long>();
                    foreach (var h in ReadMessage(g, p).Fields)
                    {
                        var q = $"{p}.{h.Name}";
                        if (h.Name == "versions")
                        {
                            versions.Add(ReadInt64(h, $"{q}[{versions.Count}]", 0, long.MaxValue));
                        }
                        else
                        {
                            Unknown(h, q, ModelConfigFields.VersionPolicySpecific);
                        }
                    }
                    if (versions.Count == 0)
                    {
                        throw FieldError(g, $"{p}.versions", "must list at least one version");
                    }
                    policy = new VersionPolicy { Kind = VersionPolicyKind.Specific, Versions = versions };
                    break;
                }
                default:
                    Unknown(g, p, ModelConfigFields.VersionPolicy);
                    break;
            }
        }
        return policy;
    }

    private InstanceGroupConfig ReadInstanceGroup(TextField f, string path)
    {
        var message = ReadMessage(f, path);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var name = "";
        var count = 1;
        var kind = InstanceKind.Auto;
        var kindName = KindNames[0];
        var gpus = new List<int>();
        TextField? gpusField = null;
        foreach (var g in message.Fields)
        {
            var p = $"{path}.{g.Name}";
            switch (g.Name)
            {
                case "name":
                    Singular(seen, g, p);
                    name = ReadString(g, p);
                    break;
                case "count":
                    Singular(seen, g, p);
                    // Triton treats an unset (0) count as 1.
                    count = Math.Max(1, ReadInt32(g, p, 0, int.MaxValue));
                    break;
                case "kind":
                {
                    Singular(seen, g, p);
                    var index = ReadEnum(g, p, KindNames, "instance kind");
                    kindName = KindNames[index];
                    kind = index switch
                    {
                        1 => InstanceKind.Gpu,
                        2 => InstanceKind.Cpu,
                        _ => InstanceKind.Auto,
                    };
                    if (index == 3)
                    {
                        // InstanceKind has no "let the backend decide" member; for the ONNX Runtime
                        // backend AUTO is the nearest meaning, and the author should know.
                        Warn(g, p, $"'{p}' KIND_MODEL is treated as KIND_AUTO by this server");
                    }
                    break;
                }
                case "gpus":
                    gpus.Add(ReadInt32(g, $"{p}[{gpus.Count}]", 0, int.MaxValue));
                    gpusField ??= g;
                    break;
                case "rate_limiter":
                    Singular(seen, g, p);
                    ReadUnsupportedFeature(g, p);
                    break;
                case "secondary_devices":
                    Unsupported(g, p, isMessage: true);
                    break;
                case "profile" or "passive" or "host_policy":
                    Unsupported(g, p, isMessage: false);
                    break;
                default:
                    Unknown(g, p, ModelConfigFields.InstanceGroup);
                    break;
            }
        }
        if (gpusField is not null && kindName is "KIND_CPU" or "KIND_MODEL")
        {
            throw FieldError(gpusField, $"{path}.gpus", $"'gpus' cannot be given for {kindName}");
        }
        return new InstanceGroupConfig { Name = name, Count = count, Kind = kind, Gpus = gpus };
    }

    private DynamicBatchingConfig ReadDynamicBatching(TextField f, string path, List<TextField> preferredFields)
    {
        var message = ReadMessage(f, path);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var preferred = new List<int>();
        long maxDelay = 0;
        var preserveOrdering = false;
        var priorityLevels = 0;
        var defaultPriority = 0;
        TextField? defaultPriorityField = null;
        var defaultPolicy = new QueuePolicyConfig();
        var policies = new Dictionary<int, QueuePolicyConfig>();
        var policyKeyFields = new List<(int Key, TextField Field, string Path)>();
        foreach (var g in message.Fields)
        {
            var p = $"{path}.{g.Name}";
            switch (g.Name)
            {
                case "preferred_batch_size":
                    preferred.Add(ReadInt32(g, $"{p}[{preferred.Count}]", 1, int.MaxValue));
                    preferredFields.Add(g);
                    break;
                case "max_queue_delay_microseconds":
                    Singular(seen, g, p);
                    maxDelay = ReadInt64(g, p, 0, long.MaxValue);
                    break;
                case "preserve_ordering":
                    Singular(seen, g, p);
                    preserveOrdering = ReadBool(g, p);
                    break;
                case "priority_levels":
                    Singular(seen, g, p);
                    priorityLevels = ReadInt32(g, p, 0, int.MaxValue);
                    break;
                case "default_priority_level":
                    Singular(seen, g, p);
                    defaultPriority = ReadInt32(g, p, 0, int.MaxValue);
                    defaultPriorityField = g;
                    break;
                case "default_queue_policy":
                    Singular(seen, g, p);
                    defaultPolicy = ReadQueuePolicy(g, p);
                    break;
                case "priority_queue_policy":
                {
                    var entryPath = $"{p}[{policyKeyFields.Count}]";
                    var (keyField, valueField) = ReadMapEntry(g, entryPath);
                    var key = keyField is null ? 0 : ReadInt32(keyField, $"{entryPath}.key", 0, int.MaxValue);
                    if (policies.ContainsKey(key))
                    {
                        throw FieldError(keyField ?? g, $"{entryPath}.key", $"priority level {key} is given more than once");
                    }
                    policies[key] = valueField is null ? new QueuePolicyConfig() : ReadQueuePolicy(valueField, $"{entryPath}.value");
                    policyKeyFields.Add((key, keyField ?? g, $"{entryPath}.key"));
                    break;
                }
                default:
                    Unknown(g, p, ModelConfigFields.DynamicBatching);
                    break;
            }
        }

        if (priorityLevels == 0 && defaultPriority != 0)
        {
            throw ValueError(defaultPriorityField!, $"{path}.default_priority_level",
                "must be 0 when priority_levels is 0 (priorities are off)");
        }
        if (priorityLevels > 0 && (defaultPriority < 1 || defaultPriority > priorityLevels))
        {
            throw FieldError(defaultPriorityField ?? f, $"{path}.default_priority_level",
                $"must be between 1 and priority_levels ({priorityLevels}), got {defaultPriority}");
        }
        foreach (var (key, keyField, keyPath) in policyKeyFields)
        {
            if (key < 1 || key > priorityLevels)
            {
                throw ValueError(keyField, keyPath, priorityLevels == 0
                    ? $"priority level {key} given but priority_levels is 0"
                    : $"priority level must be between 1 and priority_levels ({priorityLevels}), got {key}");
            }
        }

        return new DynamicBatchingConfig
        {
            PreferredBatchSizes = preferred,
            MaxQueueDelayMicroseconds = maxDelay,
            PreserveOrdering = preserveOrdering,
            PriorityLevels = priorityLevels,
            DefaultPriorityLevel = defaultPriority,
            DefaultQueuePolicy = defaultPolicy,
            PriorityQueuePolicy = policies,
        };
    }

    private QueuePolicyConfig ReadQueuePolicy(TextField f, string path)
    {
        var message = ReadMessage(f, path);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var policy = new QueuePolicyConfig();
        foreach (var g in message.Fields)
        {
            var p = $"{path}.{g.Name}";
            switch (g.Name)
            {
                case "timeout_action":
                    Singular(seen, g, p);
                    policy = policy with { TimeoutAction = ReadEnum(g, p, TimeoutActionNames, "timeout action") == 1 ? TimeoutAction.Delay : TimeoutAction.Reject };
                    break;
                case "default_timeout_microseconds":
                    Singular(seen, g, p);
                    policy = policy with { DefaultTimeoutMicroseconds = ReadInt64(g, p, 0, long.MaxValue) };
                    break;
                case "allow_timeout_override":
                    Singular(seen, g, p);
                    policy = policy with { AllowTimeoutOverride = ReadBool(g, p) };
                    break;
                case "max_queue_size":
                    Singular(seen, g, p);
                    policy = policy with { MaxQueueSize = ReadInt32(g, p, 0, int.MaxValue) };
                    break;
                default:
                    Unknown(g, p, ModelConfigFields.QueuePolicy);
                    break;
            }
        }
        return policy;
    }

    private void ReadParameter(TextField f, string path, Dictionary<string, string> parameters)
    {
        var (keyField, valueField) = ReadMapEntry(f, path);
        var key = ReadMapKey(keyField, f, path);
        var value = "";
        if (valueField is not null)
        {
            var valuePath = $"{path}.value";
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var g in ReadMessage(valueField, valuePath).Fields)
            {
                var p = $"{valuePath}.{g.Name}";
                if (g.Name == "string_value")
                {
                    Singular(seen, g, p);
                    value = ReadString(g, p);
                }
                else
                {
                    Unknown(g, p, ModelConfigFields.Parameter);
                }
            }
        }
        if (parameters.ContainsKey(key))
        {
            Warn(keyField ?? f, $"{path}.key", $"parameter '{key}' is given more than once; the last value is used");
        }
        parameters[key] = value;
    }

    private (ModelWarmupConfig Config, TextField Field, TextField? BatchSizeField) ReadWarmup(TextField f, string path)
    {
        var message = ReadMessage(f, path);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var name = "";
        var batchSize = 1;
        TextField? batchSizeField = null;
        var count = 1;
        var inputs = new Dictionary<string, WarmupInputConfig>(StringComparer.Ordinal);
        var inputCount = 0;
        foreach (var g in message.Fields)
        {
            var p = $"{path}.{g.Name}";
            switch (g.Name)
            {
                case "name":
                    Singular(seen, g, p);
                    name = ReadString(g, p);
                    break;
                case "batch_size":
                    Singular(seen, g, p);
                    batchSize = ReadInt32(g, p, 1, int.MaxValue);
                    batchSizeField = g;
                    break;
                case "count":
                    Singular(seen, g, p);
                    // Triton runs a warm-up sample once when count is 0.
                    count = Math.Max(1, ReadInt32(g, p, 0, int.MaxValue));
                    break;
                case "inputs":
                {
                    var entryPath = $"{p}[{inputCount++}]";
                    var (keyField, valueField) = ReadMapEntry(g, entryPath);
                    var key = ReadMapKey(keyField, g, entryPath);
                    if (inputs.ContainsKey(key))
                    {
                        throw FieldError(keyField ?? g, $"{entryPath}.key", $"warm-up input '{key}' is given more than once");
                    }
                    if (valueField is null)
                    {
                        throw FieldError(g, $"{entryPath}.value", $"warm-up input '{key}' must specify a value");
                    }
                    inputs[key] = ReadWarmupInput(valueField, $"{entryPath}.value");
                    break;
                }
                default:
                    Unknown(g, p, ModelConfigFields.Warmup);
                    break;
            }
        }
        var config = new ModelWarmupConfig { Name = name, BatchSize = batchSize, Count = count, Inputs = inputs };
        return (config, f, batchSizeField);
    }

    private WarmupInputConfig ReadWarmupInput(TextField f, string path)
    {
        var message = ReadMessage(f, path);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var dataType = DataType.Invalid;
        var dims = new List<long>();
        TextField? source = null;
        var sourceKind = WarmupDataSource.Zero;
        var file = "";
        foreach (var g in message.Fields)
        {
            var p = $"{path}.{g.Name}";
            switch (g.Name)
            {
                case "data_type":
                    Singular(seen, g, p);
                    dataType = ReadDataType(g, p);
                    break;
                case "dims":
                    // Warm-up data is real data, so every dimension must be concrete.
                    dims.Add(ReadDim(g, $"{p}[{dims.Count}]", allowWildcard: false));
                    break;
                case "zero_data":
                    OneOf(ref source, g, p);
                    ReadBool(g, p);
                    sourceKind = WarmupDataSource.Zero;
                    break;
                case "random_data":
                    OneOf(ref source, g, p);
                    ReadBool(g, p);
                    sourceKind = WarmupDataSource.Random;
                    break;
                case "input_data_file":
                    OneOf(ref source, g, p);
                    file = ReadString(g, p);
                    sourceKind = WarmupDataSource.File;
                    if (file.Length == 0)
                    {
                        throw ValueError(g, p, "must not be empty");
                    }
                    break;
                default:
                    Unknown(g, p, ModelConfigFields.WarmupInput);
                    break;
            }
        }
        if (dataType == DataType.Invalid)
        {
            throw FieldError(f, $"{path}.data_type", "must specify 'data_type'");
        }
        if (source is null)
        {
            throw FieldError(f, path, "must specify one of 'zero_data', 'random_data' or 'input_data_file'");
        }
        return new WarmupInputConfig { DataType = dataType, Dims = dims.ToArray(), Source = sourceKind, InputDataFile = file };
    }

    private OptimizationConfig ReadOptimization(TextField f, string path)
    {
        var message = ReadMessage(f, path);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var config = new OptimizationConfig();
        foreach (var g in message.Fields)
        {
            var p = $"{path}.{g.Name}";
            switch (g.Name)
            {
                case "graph":
                {
                    Singular(seen, g, p);
                    var graphSeen = new HashSet<string>(StringComparer.Ordinal);
                    int? level = null;
                    foreach (var h in ReadMessage(g, p).Fields)
                    {
                        var q = $"{p}.{h.Name}";
                        if (h.Name == "level")
                        {
                            Singular(graphSeen, h, q);
                            level = ReadInt32(h, q, int.MinValue, int.MaxValue);
                        }
                        else
                        {
                            Unknown(h, q, ModelConfigFields.OptimizationGraph);
                        }
                    }
                    // An empty graph {} still says level 0 in proto3.
                    config = config with { GraphLevel = level ?? 0 };
                    break;
                }
                case "priority":
                    Singular(seen, g, p);
                    config = config with { Priority = PriorityNames[ReadEnum(g, p, PriorityNames, "priority")] };
                    break;
                case "execution_accelerators":
                    Singular(seen, g, p);
                    config = ReadExecutionAccelerators(g, p, config);
                    break;
                case "cuda" or "input_pinned_memory" or "output_pinned_memory":
                    // GPU/transfer tuning that changes no results; accepted without comment.
                    Singular(seen, g, p);
                    ReadMessage(g, p);
                    break;
                case "gather_kernel_buffer_threshold":
                    Singular(seen, g, p);
                    ReadInt64(g, p, 0, uint.MaxValue);
                    break;
                case "eager_batching":
                    Singular(seen, g, p);
                    ReadBool(g, p);
                    break;
                default:
                    Unknown(g, p, ModelConfigFields.Optimization);
                    break;
            }
        }
        return config;
    }

    private OptimizationConfig ReadExecutionAccelerators(TextField f, string path, OptimizationConfig config)
    {
        var cpu = new List<ExecutionAcceleratorConfig>();
        var gpu = new List<ExecutionAcceleratorConfig>();
        foreach (var g in ReadMessage(f, path).Fields)
        {
            var p = $"{path}.{g.Name}";
            switch (g.Name)
            {
                case "cpu_execution_accelerator":
                    cpu.Add(ReadAccelerator(g, $"{p}[{cpu.Count}]"));
                    break;
                case "gpu_execution_accelerator":
                    gpu.Add(ReadAccelerator(g, $"{p}[{gpu.Count}]"));
                    break;
                default:
                    Unknown(g, p, ModelConfigFields.ExecutionAccelerators);
                    break;
            }
        }
        return config with { CpuExecutionAccelerators = cpu, GpuExecutionAccelerators = gpu };
    }

    private ExecutionAcceleratorConfig ReadAccelerator(TextField f, string path)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var name = "";
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var g in ReadMessage(f, path).Fields)
        {
            var p = $"{path}.{g.Name}";
            switch (g.Name)
            {
                case "name":
                    Singular(seen, g, p);
                    name = ReadString(g, p);
                    break;
                case "parameters":
                {
                    var entryPath = $"{p}[{parameters.Count}]";
                    var (keyField, valueField) = ReadMapEntry(g, entryPath);
                    var key = ReadMapKey(keyField, g, entryPath);
                    parameters[key] = valueField is null ? "" : ReadString(valueField, $"{entryPath}.value");
                    break;
                }
                default:
                    Unknown(g, p, ModelConfigFields.Accelerator);
                    break;
            }
        }
        if (name.Length == 0)
        {
            throw FieldError(f, $"{path}.name", "must specify a non-empty 'name'");
        }
        return new ExecutionAcceleratorConfig { Name = name, Parameters = parameters };
    }

    // Map fields are repeated entry messages with 'key' and 'value'; either may be left out
    // and then holds its default, as in proto3.
    private (TextField? Key, TextField? Value) ReadMapEntry(TextField f, string path)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        TextField? key = null, value = null;
        foreach (var g in ReadMessage(f, path).Fields)
        {
            var p = $"{path}.{g.Name}";
            switch (g.Name)
            {
                case "key":
                    Singular(seen, g, p);
                    key = g;
                    break;
                case "value":
                    Singular(seen, g, p);
                    value = g;
                    break;
                default:
                    Unknown(g, p, ModelConfigFields.MapEntry);
                    break;
            }
        }
        return (key, value);
    }

    private string ReadMapKey(TextField? keyField, TextField entry, string path)
    {
        var key = keyField is null ? "" : ReadString(keyField, $"{path}.key");
        if (key.Length == 0)
        {
            throw keyField is null
                ? FieldError(entry, $"{path}.key", "must specify a non-empty 'key'")
                : ValueError(keyField, $"{path}.key", "must specify a non-empty 'key'");
        }
        return key;
    }

    private DataType ReadDataType(TextField f, string path)
    {
        var index = ReadEnum(f, path, DataTypeNames, "data type");
        if (index == 0 || !DataTypes.TryParseConfigName(DataTypeNames[index], out var type))
        {
            throw ValueError(f, path, $"{DataTypeNames[index]} is not a usable data type");
        }
        return type;
    }

    private string ReadString(TextField f, string path) =>
        f.Kind == TextValueKind.String ? f.Text : throw ValueError(f, path, $"expected a quoted string, found {Describe(f)}");

    private bool ReadBool(TextField f, string path) =>
        TextScalars.TryParseBool(f.Kind, f.Text, out var value)
            ? value
            : throw ValueError(f, path, $"expected true or false, found {Describe(f)}");

    private int ReadInt32(TextField f, string path, int min, int max) => (int)ReadInt64(f, path, min, max);

    private long ReadInt64(TextField f, string path, long min, long max)
    {
        if (f.Kind != TextValueKind.Integer && !(f.FromJson && f.Kind == TextValueKind.String))
        {
            throw ValueError(f, path, $"expected an integer, found {Describe(f)}");
        }
        if (!TextScalars.TryParseInt64(f.Text, out var value))
        {
            throw ValueError(f, path, $"integer {f.Text} is out of range");
        }
        if (value < min || value > max)
        {
            var reason = value > max ? $"must be at most {max}, got {value}"
                : min == 0 ? $"must not be negative, got {value}"
                : $"must be at least {min}, got {value}";
            throw ValueError(f, path, reason);
        }
        return value;
    }

    private int ReadEnum(TextField f, string path, string[] names, string what)
    {
        // JSON writes an enum value as a string.
        if (f.Kind == TextValueKind.Identifier || (f.FromJson && f.Kind == TextValueKind.String))
        {
            var index = Array.IndexOf(names, f.Text);
            if (index >= 0)
            {
                return index;
            }
            throw ValueError(f, path, $"unknown {what} '{f.Text}'; expected one of {string.Join(", ", names)}");
        }
        if (f.Kind == TextValueKind.Integer)
        {
            // The text format allows an enum's number in place of its name.
            if (TextScalars.TryParseInt64(f.Text, out var number) && number >= 0 && number < names.Length)
            {
                return (int)number;
            }
            throw ValueError(f, path, $"unknown {what} number {f.Text}");
        }
        if (f.Kind == TextValueKind.String)
        {
            throw ValueError(f, path, $"expected a {what} name without quotes, found \"{f.Text}\"");
        }
        throw ValueError(f, path, $"expected a {what} name, found {Describe(f)}");
    }

    private TextMessage ReadMessage(TextField f, string path) =>
        f.Message ?? throw ValueError(f, path, $"expected a message ('{{ ... }}'), found {Describe(f)}");

    private void Singular(HashSet<string> seen, TextField f, string path)
    {
        if (f.InList)
        {
            throw FieldError(f, path, "is not a repeated field; list syntax '[ ... ]' is not allowed");
        }
        if (!seen.Add(f.Name))
        {
            throw FieldError(f, path, "is given more than once");
        }
    }

    private void OneOf(ref TextField? chosen, TextField f, string path)
    {
        if (chosen is not null && chosen.Name != f.Name)
        {
            throw FieldError(f, path, $"cannot be given together with '{chosen.Name}' (line {chosen.Line}); only one of them is allowed");
        }
        if (chosen is not null)
        {
            throw FieldError(f, path, "is given more than once");
        }
        chosen = f;
    }

    private void Unknown(TextField f, string path, string[] known)
    {
        if (_warnedPaths.Add(path + "\nunknown"))
        {
            _warnings.Add(ModelConfigWarning.UnknownField(_fileName, f.Line, f.Column, path, FieldNameSuggester.Closest(f.Name, known)));
        }
    }

    private void Unsupported(TextField f, string path, bool isMessage)
    {
        if (isMessage != (f.Kind == TextValueKind.Message))
        {
            throw ValueError(f, path, isMessage
                ? $"expected a message ('{{ ... }}'), found {Describe(f)}"
                : $"expected a value, found {Describe(f)}");
        }
        Warn(f, path, $"field '{path}' is not supported by this server; ignored");
    }

    private void Warn(TextField f, string path, string message)
    {
        // Repeated occurrences of one ignored field say the same thing; once is enough.
        if (_warnedPaths.Add(path + "\n" + message))
        {
            _warnings.Add(new ModelConfigWarning(_fileName, f.Line, f.Column, path, message));
        }
    }

    private static string Describe(TextField f) => f.Kind switch
    {
        TextValueKind.Message => "a message",
        TextValueKind.String => $"the string \"{f.Text}\"",
        TextValueKind.Identifier => $"'{f.Text}'",
        _ => f.Text,
    };

    private ModelConfigException FieldError(TextField f, string path, string reason) =>
        new(_fileName, f.Line, f.Column, path, reason);

    private ModelConfigException ValueError(TextField f, string path, string reason) =>
        new(_fileName, f.ValueLine, f.ValueColumn, path, reason);
}
