using System.Collections;
using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Repository;

/// <summary>
/// What a config must satisfy beyond its schema's types, checked on the message once it is read, from config.pbtxt
/// and from JSON alike, with <see cref="ConfigPositions"/> pointing each failure at what was written: names and types
/// that must be given, dimensions, reshapes, version policies, priority levels, warm-up samples. A config that asks
/// for a feature this server does not implement fails naming it, since serving it as if the field were absent would
/// answer differently from what its author asked (a stateful model as stateless, a decoupled one with one response);
/// settings that ask for nothing (<c>enable: false</c>, an empty message) pass. Fields that change no answer (metric
/// labels, TensorRT-only flags) are warned about and ignored.
/// </summary>
internal sealed class ModelConfigValidator(string fileName, ConfigPositions positions, List<ModelConfigWarning> warnings, ModelConfigLimits limits)
{
    // The longest file name the common file systems (ext4, xfs, NTFS) allow.
    private const int MaxFileNameBytes = 255;

    // ModelConfig fields this server does not act on and whose absence changes nothing a client sees.
    private static readonly string[] IgnoredFields = ["cc_model_filenames", "metric_tags", "model_metrics"];

    // Instance-group settings for devices and hosts this server does not manage.
    private static readonly string[] IgnoredGroupFields = ["secondary_devices", "profile", "passive", "host_policy"];

    /// <summary>Checks <paramref name="config"/>, adding warnings for what is ignored.</summary>
    /// <exception cref="ModelConfigException">The first check that fails.</exception>
    public void Validate(ModelConfig config)
    {
        CheckEveryField(config, "");
        CheckTopLevel(config);
        CheckVersionPolicy(config.VersionPolicy);
        CheckTensors(config, config.Input, "input");
        CheckTensors(config, config.Output, "output");
        CheckInstanceGroups(config);
        CheckDynamicBatching(config);
        foreach (var (key, index) in positions.Duplicates("parameters"))
        {
            var path = $"parameters[{index}].key";
            Warn(positions.Field(path), path, $"parameter '{key}' is given more than once; the last value is used");
        }
        CheckWarmup(config);
        CheckAccelerators(config.Optimization?.ExecutionAccelerators);
    }

    // What holds for every field of the schema, whatever the message: an enum number must name a value, an unsigned
    // value must fit the signed type of its width (the server counts with int and long), and a map's string key must
    // name something.
    private void CheckEveryField(IMessage message, string path)
    {
        foreach (var field in message.Descriptor.Fields.InFieldNumberOrder())
        {
            var fieldPath = path.Length == 0 ? field.Name : $"{path}.{field.Name}";
            var value = field.Accessor.GetValue(message);
            if (field.IsMap)
            {
                var valueField = field.MessageType.FindFieldByNumber(2);
                foreach (DictionaryEntry entry in (IDictionary)value)
                {
                    var key = Convert.ToString(entry.Key, CultureInfo.InvariantCulture)!;
                    var entryPath = $"{fieldPath}[{positions.EntryIndex(fieldPath, key)}]";
                    if (key.Length == 0)
                    {
                        throw ValueError($"{entryPath}.key", "must specify a non-empty 'key'");
                    }
                    CheckValue(valueField, entry.Value!, $"{entryPath}.value");
                }
            }
            else if (field.IsRepeated)
            {
                var list = (IList)value;
                for (var i = 0; i < list.Count; i++)
                {
                    CheckValue(field, list[i]!, $"{fieldPath}[{i}]");
                }
            }
            else if (value is not null)
            {
                CheckValue(field, value, fieldPath);
            }
        }
    }

    private void CheckValue(FieldDescriptor field, object value, string path)
    {
        switch (field.FieldType)
        {
            case FieldType.Message or FieldType.Group:
                CheckEveryField((IMessage)value, path);
                break;
            case FieldType.Enum when field.EnumType.FindValueByNumber(Convert.ToInt32(value, CultureInfo.InvariantCulture)) is null:
                throw ValueError(path, $"unknown {ConfigFieldTypes.EnumWhat(field.EnumType)} number {Convert.ToInt32(value, CultureInfo.InvariantCulture)}");
            case FieldType.UInt32 or FieldType.Fixed32 when (uint)value > int.MaxValue:
                throw ValueError(path, $"must be at most {int.MaxValue}, got {value}");
            case FieldType.UInt64 or FieldType.Fixed64 when (ulong)value > long.MaxValue:
                throw ValueError(path, $"must be at most {long.MaxValue}, got {value}");
        }
    }

    private void CheckTopLevel(ModelConfig config)
    {
        if (config.Platform == "ensemble")
        {
            throw ValueError("platform", "ensemble models are not supported by this server");
        }
        // Triton's default runtime for a backend is that backend's own library; any other runtime is custom code.
        if (config.Runtime.Length > 0 && config.Runtime != $"libtriton_{config.Backend}.so")
        {
            throw ValueError("runtime", $"runtime '{config.Runtime}' is not supported by this server: it runs models with its own backends, not backend libraries or Python models");
        }
        if (config.MaxBatchSize < 0)
        {
            throw ValueError("max_batch_size", $"must not be negative, got {config.MaxBatchSize}");
        }
        CheckFileName(config.DefaultModelFilename, "default_model_filename");

        Unsupported(config.SequenceBatching is not null, "sequence_batching", "stateful models (sequence batching) are not supported by this server");
        Unsupported(config.EnsembleScheduling is not null, "ensemble_scheduling", "ensemble models are not supported by this server");
        Unsupported(config.BatchInput.Count > 0, "batch_input", "batch inputs and outputs (ragged batching) are not supported by this server");
        Unsupported(config.BatchOutput.Count > 0, "batch_output", "batch inputs and outputs (ragged batching) are not supported by this server");
        Unsupported(config.ResponseCache?.Enable == true, "response_cache", "the response cache is not supported by this server; set 'enable: false' or remove it");
        Unsupported(config.ModelTransactionPolicy?.Decoupled == true, "model_transaction_policy",
            "decoupled models (any number of responses per request) are not supported by this server");
        Unsupported(AsksForSomething(config.ModelRepositoryAgents), "model_repository_agents",
            "repository agents (such as checksum or decryption) are not supported by this server");
        Unsupported(AsksForSomething(config.ModelOperations), "model_operations", "custom operation libraries are not supported by this server");
        foreach (var name in IgnoredFields)
        {
            WarnIgnored(name);
        }
    }

    private void CheckVersionPolicy(ModelVersionPolicy? policy)
    {
        switch (policy?.PolicyChoiceCase)
        {
            case ModelVersionPolicy.PolicyChoiceOneofCase.Latest when policy.Latest.NumVersions == 0:
            {
                // Absent means 0 in proto3, which would serve no version at all.
                const string path = "version_policy.latest.num_versions";
                throw positions.Has(path) ? ValueError(path, "must be at least 1") : FieldError(path, "must specify 'num_versions' of at least 1");
            }
            case ModelVersionPolicy.PolicyChoiceOneofCase.Specific:
            {
                var versions = policy.Specific.Versions;
                for (var i = 0; i < versions.Count; i++)
                {
                    if (versions[i] < 0)
                    {
                        throw ValueError($"version_policy.specific.versions[{i}]", $"must not be negative, got {versions[i]}");
                    }
                }
                if (versions.Count == 0)
                {
                    throw FieldError("version_policy.specific.versions", "must list at least one version");
                }
                break;
            }
        }
    }

    private void CheckTensors(ModelConfig config, IReadOnlyList<IModelTensor> tensors, string what)
    {
        for (var i = 0; i < tensors.Count; i++)
        {
            var tensor = tensors[i];
            var path = $"{what}[{i}]";
            CheckDims(tensor.Dims, $"{path}.dims", wildcard: true);
            if (tensor.Reshape is { } reshape)
            {
                CheckDims(reshape.Shape, $"{path}.reshape.shape", wildcard: true);
            }
            if (tensor.Name.Length == 0)
            {
                throw FieldError($"{path}.name", "must specify a non-empty 'name'");
            }
            CheckDataType(tensor.DataType, $"{path}.data_type");
            if (tensor.Dims.Count == 0)
            {
                throw Error(positions.Field(path), $"{path}.dims", "must specify 'dims'");
            }
            var dims = tensor.Dims.ToArray();
            CheckElementCount(dims, positions.Field(path), $"{path}.dims");
            if (tensor is ModelInput { Format: not ModelInput.Types.Format.None } input && dims.Length != 3)
            {
                var format = ConfigFieldTypes.EnumName(ModelInput.Descriptor.FindFieldByNumber(ModelInput.FormatFieldNumber).EnumType, (int)input.Format);
                throw ValueError($"{path}.format", $"{format} needs exactly 3 dims (without the batch dimension), got {ShapeMath.Format(dims)}");
            }
            if (tensor.Reshape is not null)
            {
                var shape = tensor.Reshape.Shape.ToArray();
                CheckElementCount(shape, positions.Field($"{path}.reshape"), $"{path}.reshape.shape");
                if (Array.IndexOf(dims, -1L) < 0 && Array.IndexOf(shape, -1L) < 0 && ShapeMath.ElementCount(dims) != ShapeMath.ElementCount(shape))
                {
                    throw FieldError($"{path}.reshape",
                        $"reshape {ShapeMath.Format(shape)} has {ShapeMath.ElementCount(shape)} elements but dims {ShapeMath.Format(dims)} has {ShapeMath.ElementCount(dims)}");
                }
            }
            // TensorRT-only or batching refinements: harmless when off, worth a warning when on.
            switch (tensor)
            {
                case ModelInput flags:
                    WarnIgnoredFlag(flags.IsShapeTensor, $"{path}.is_shape_tensor");
                    WarnIgnoredFlag(flags.AllowRaggedBatch, $"{path}.allow_ragged_batch");
                    WarnIgnoredFlag(flags.IsNonLinearFormatIo, $"{path}.is_non_linear_format_io");
                    break;
                case ModelOutput flags:
                    WarnIgnoredFlag(flags.IsShapeTensor, $"{path}.is_shape_tensor");
                    WarnIgnoredFlag(flags.IsNonLinearFormatIo, $"{path}.is_non_linear_format_io");
                    break;
            }
        }

        for (var i = 0; i < tensors.Count; i++)
        {
            for (var earlier = 0; earlier < i; earlier++)
            {
                if (tensors[earlier].Name == tensors[i].Name)
                {
                    throw FieldError($"{what}[{i}].name", $"duplicate {what} name '{tensors[i].Name}' (also {what}[{earlier}])");
                }
            }
            if (config.MaxBatchSize == 0 && tensors[i].Reshape is { Shape.Count: 0 })
            {
                // Without a batch dimension an empty reshape would make the tensor always empty.
                throw FieldError($"{what}[{i}].reshape", "reshape cannot be empty for a model with max_batch_size 0");
            }
        }
    }

    private void CheckInstanceGroups(ModelConfig config)
    {
        for (var i = 0; i < config.InstanceGroup.Count; i++)
        {
            var group = config.InstanceGroup[i];
            var path = $"instance_group[{i}]";
            if (group.Count < 0)
            {
                throw ValueError($"{path}.count", $"must not be negative, got {group.Count}");
            }
            // Each instance is a session holding the model's weights; an unbounded count exhausts memory before failing.
            long instances = (long)Math.Max(1, group.Count) * Math.Max(1, group.Gpus.Count);
            if (instances > limits.MaxInstances)
            {
                throw ValueError($"{path}.count", $"asks for {instances} instances, more than the {limits.MaxInstances} a model may have (--model-max-instances)");
            }
            for (var j = 0; j < group.Gpus.Count; j++)
            {
                if (group.Gpus[j] < 0)
                {
                    throw ValueError($"{path}.gpus[{j}]", $"must not be negative, got {group.Gpus[j]}");
                }
            }
            if (group.Kind == ModelInstanceGroup.Types.Kind.Model)
            {
                Warn(positions.Field($"{path}.kind"), $"{path}.kind", $"'{path}.kind' KIND_MODEL is treated as KIND_AUTO by this server");
            }
            if (group.Gpus.Count > 0 && group.Kind is ModelInstanceGroup.Types.Kind.Cpu or ModelInstanceGroup.Types.Kind.Model)
            {
                var kind = ConfigFieldTypes.EnumName(ModelInstanceGroup.Descriptor.FindFieldByNumber(ModelInstanceGroup.KindFieldNumber).EnumType, (int)group.Kind);
                throw FieldError($"{path}.gpus", $"'gpus' cannot be given for {kind}");
            }
            if (group.RateLimiter is { } limiter)
            {
                CheckRateLimiter(limiter, $"{path}.rate_limiter");
            }
            foreach (var name in IgnoredGroupFields)
            {
                WarnIgnored($"{path}.{name}");
            }
        }
        long total = 0;
        foreach (var group in config.InstanceGroup)
        {
            total += (long)Math.Max(1, group.Count) * Math.Max(1, group.Gpus.Count);
        }
        if (total > limits.MaxInstances)
        {
            throw FieldError("instance_group", $"the groups ask for {total} instances together, more than the {limits.MaxInstances} a model may have (--model-max-instances)");
        }
    }

    // The resources an instance holds while it runs (--rate-limit execution_count): each named once, by a name that
    // --rate-limit-resource can spell (no ':'). Counts are unsigned in the schema; a negative one fails where it is read.
    private void CheckRateLimiter(ModelRateLimiter limiter, string path)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var j = 0; j < limiter.Resources.Count; j++)
        {
            var resource = limiter.Resources[j];
            var at = $"{path}.resources[{j}]";
            if (resource.Name.Length == 0)
            {
                throw FieldError($"{at}.name", "must specify a non-empty 'name' for the resource");
            }
            if (resource.Name.Contains(':', StringComparison.Ordinal))
            {
                throw ValueError($"{at}.name", $"'{resource.Name}' must not contain ':' (--rate-limit-resource separates name, count and device with it)");
            }
            if (!names.Add(resource.Name))
            {
                throw ValueError($"{at}.name", $"resource '{resource.Name}' is listed more than once; list each resource once with the count the instance needs");
            }
        }
    }

    // A file the config names inside the model's folders (a version folder, the warm-up folder): one plain name, never a
    // path, so the config cannot point the server at a file elsewhere. Checked before any file is looked at, so that the
    // answer says nothing about what exists on the server.
    private void CheckFileName(string name, string path)
    {
        if (name.Length == 0)
        {
            return;
        }
        string? problem = name is "." or ".." ? "is not a file name"
            : name.AsSpan().IndexOfAny('/', '\\') >= 0 ? "must be a file name in the folder, not a path"
            : name.AsSpan().IndexOfAnyInRange('\0', '\u001f') >= 0 || name.Contains('\u007f', StringComparison.Ordinal) ? "contains a control character"
            : System.Text.Encoding.UTF8.GetByteCount(name) > MaxFileNameBytes ? $"is longer than {MaxFileNameBytes} bytes"
            : null;
        if (problem is not null)
        {
            throw ValueError(path, $"'{name}' {problem}");
        }
    }

    private void CheckDynamicBatching(ModelConfig config)
    {
        if (config.DynamicBatching is not { } batching)
        {
            return;
        }
        const string path = "dynamic_batching";
        var preferred = batching.PreferredBatchSize;
        for (var i = 0; i < preferred.Count; i++)
        {
            if (preferred[i] < 1)
            {
                throw ValueError($"{path}.preferred_batch_size[{i}]", $"must be at least 1, got {preferred[i]}");
            }
        }
        for (var i = 0; i < preferred.Count; i++)
        {
            if (preferred[i] > config.MaxBatchSize)
            {
                throw Error(positions.Value($"{path}.preferred_batch_size[{i}]"), $"{path}.preferred_batch_size",
                    $"preferred batch size {preferred[i]} is larger than max_batch_size {config.MaxBatchSize}");
            }
        }

        var levels = batching.PriorityLevels;
        if (levels > int.MaxValue)
        {
            throw ValueError($"{path}.priority_levels", $"must be at most {int.MaxValue}, got {levels}");
        }
        const string policies = $"{path}.priority_queue_policy";
        foreach (var (key, index) in positions.Duplicates(policies))
        {
            throw FieldError($"{policies}[{index}].key", $"priority level {key} is given more than once");
        }
        var level = batching.DefaultPriorityLevel;
        if (levels == 0 && level != 0)
        {
            throw ValueError($"{path}.default_priority_level", "must be 0 when priority_levels is 0 (priorities are off)");
        }
        if (levels > 0 && (level < 1 || level > levels))
        {
            throw FieldError($"{path}.default_priority_level", $"must be between 1 and priority_levels ({levels}), got {level}");
        }
        foreach (var key in batching.PriorityQueuePolicy.Keys)
        {
            if (key < 1 || key > levels)
            {
                var keyPath = $"{policies}[{positions.EntryIndex(policies, key.ToString(CultureInfo.InvariantCulture))}].key";
                throw ValueError(keyPath, levels == 0
                    ? $"priority level {key} given but priority_levels is 0"
                    : $"priority level must be between 1 and priority_levels ({levels}), got {key}");
            }
        }
    }

    private void CheckWarmup(ModelConfig config)
    {
        for (var i = 0; i < config.ModelWarmup.Count; i++)
        {
            var warmup = config.ModelWarmup[i];
            var path = $"model_warmup[{i}]";
            if (warmup.BatchSize == 0 && positions.Has($"{path}.batch_size"))
            {
                throw ValueError($"{path}.batch_size", "must be at least 1, got 0");
            }
            if (warmup.Count > limits.MaxWarmupCount)
            {
                throw ValueError($"{path}.count", $"{warmup.Count} runs are more than the {limits.MaxWarmupCount} a warm-up sample may ask for (--model-warmup-max-count)");
            }
            var inputs = $"{path}.inputs";
            foreach (var (key, index) in positions.Duplicates(inputs))
            {
                throw FieldError($"{inputs}[{index}].key", $"warm-up input '{key}' is given more than once");
            }
            foreach (var (name, input) in warmup.Inputs)
            {
                var value = $"{inputs}[{positions.EntryIndex(inputs, name)}].value";
                if (!positions.Has(value))
                {
                    throw FieldError(value, $"warm-up input '{name}' must specify a value");
                }
                // Warm-up data is real data, so every dimension must be concrete.
                CheckDims(input.Dims, $"{value}.dims", wildcard: false);
                CheckDataType(input.DataType, $"{value}.data_type");
                if (input.InputDataTypeCase == ModelWarmup.Types.Input.InputDataTypeOneofCase.None)
                {
                    throw FieldError(value, "must specify one of 'zero_data', 'random_data' or 'input_data_file'");
                }
                if (input.InputDataTypeCase == ModelWarmup.Types.Input.InputDataTypeOneofCase.InputDataFile)
                {
                    if (input.InputDataFile.Length == 0)
                    {
                        throw ValueError($"{value}.input_data_file", "must not be empty");
                    }
                    CheckFileName(input.InputDataFile, $"{value}.input_data_file");
                }
                CheckWarmupBytes(warmup, input, value);
            }
            if (config.MaxBatchSize > 0 && warmup.BatchSize > config.MaxBatchSize)
            {
                throw ValueError($"{path}.batch_size", $"warm-up batch size {warmup.BatchSize} is larger than max_batch_size {config.MaxBatchSize}");
            }
            if (config.Input.Count == 0)
            {
                // Inputs left to auto-completion from the model file cannot be checked here.
                continue;
            }
            foreach (var name in warmup.Inputs.Keys)
            {
                if (!config.Input.Any(input => input.Name == name))
                {
                    throw Error(positions.Field(path), inputs, $"warm-up input '{name}' is not an input of the model");
                }
            }
        }
    }

    // The bytes a warm-up input makes for its sample, batch included: bounded so that a config can neither make the
    // server allocate what it asks for nor overflow the sizes it computes. A BYTES element takes at least its length
    // prefix (a data file's strings are checked against the limit when it is read).
    private void CheckWarmupBytes(ModelWarmup warmup, ModelWarmup.Types.Input input, string path)
    {
        var type = input.DataType.ToTensorType();
        // As WarmupRequests makes BYTES: empty strings for zero data, 8 letters for random data.
        double elementBytes = type != Tensors.DataType.Bytes ? type.ElementSize() : BytesTensorLayout.PrefixSize + (input.RandomData ? 8 : 0);
        // In floating point: the product of the dims may be far past what 64 bits hold.
        var batch = Math.Max(1u, warmup.BatchSize);
        var bytes = elementBytes * batch;
        foreach (var dim in input.Dims)
        {
            bytes *= dim;
        }
        if (bytes > limits.MaxWarmupBytes)
        {
            throw ValueError($"{path}.dims", string.Create(CultureInfo.InvariantCulture,
                $"dims {ShapeMath.Format(input.Dims.ToArray())} with batch_size {batch} make {bytes:G4} bytes of {type.ConfigName()} data, more than the {limits.MaxWarmupBytes} bytes one warm-up input may make (--model-warmup-max-bytes)"));
        }
    }

    private void CheckAccelerators(ModelOptimizationPolicy.Types.ExecutionAccelerators? accelerators)
    {
        if (accelerators is null)
        {
            return;
        }
        CheckNamed(accelerators.GpuExecutionAccelerator, "optimization.execution_accelerators.gpu_execution_accelerator");
        CheckNamed(accelerators.CpuExecutionAccelerator, "optimization.execution_accelerators.cpu_execution_accelerator");

        void CheckNamed(IReadOnlyList<ModelOptimizationPolicy.Types.ExecutionAccelerators.Types.Accelerator> list, string path)
        {
            for (var i = 0; i < list.Count; i++)
            {
                if (list[i].Name.Length == 0)
                {
                    throw FieldError($"{path}[{i}].name", "must specify a non-empty 'name'");
                }
            }
        }
    }

    private void CheckDataType(DataType type, string path)
    {
        if (!positions.Has(path))
        {
            throw FieldError(path, "must specify 'data_type'");
        }
        if (type.ToTensorType() == Tensors.DataType.Invalid)
        {
            throw ValueError(path, $"{ConfigFieldTypes.EnumName(ModelInput.Descriptor.FindFieldByNumber(ModelInput.DataTypeFieldNumber).EnumType, (int)type)} is not a usable data type");
        }
    }

    private void CheckDims(IReadOnlyList<long> dims, string path, bool wildcard)
    {
        for (var i = 0; i < dims.Count; i++)
        {
            var dim = dims[i];
            if (wildcard ? dim == 0 || dim < -1 : dim < 0)
            {
                throw ValueError($"{path}[{i}]", wildcard
                    ? $"dimension must be >= 1, or -1 for a variable size, got {dim}"
                    : $"dimension must not be negative, got {dim}");
            }
        }
    }

    private void CheckElementCount(long[] shape, (int Line, int Column) at, string path)
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
                throw Error(at, path, $"shape {ShapeMath.Format(shape)} has more elements than fit in 64 bits");
            }
            count *= dim;
        }
    }

    private void Unsupported(bool asked, string path, string reason)
    {
        if (asked)
        {
            throw FieldError(path, reason);
        }
    }

    // A message asks for something when any of its fields is set: an empty one (rate_limiter { }) asks for nothing.
    private static bool AsksForSomething(IMessage? message) => message is not null && message.CalculateSize() > 0;

    private void WarnIgnored(string path)
    {
        if (positions.Has(path))
        {
            Warn(positions.Field(path), path, $"field '{path}' is not supported by this server; ignored");
        }
    }

    private void WarnIgnoredFlag(bool set, string path)
    {
        if (set)
        {
            Warn(positions.Field(path), path, $"field '{path}' is not supported by this server; ignored");
        }
    }

    private void Warn((int Line, int Column) at, string path, string message) =>
        warnings.Add(new ModelConfigWarning(fileName, at.Line, at.Column, path, message));

    private ModelConfigException FieldError(string path, string reason) => Error(positions.Field(path), path, reason);

    private ModelConfigException ValueError(string path, string reason) => Error(positions.Value(path), path, reason);

    private ModelConfigException Error((int Line, int Column) at, string path, string reason) => new(fileName, at.Line, at.Column, path, reason);
}
