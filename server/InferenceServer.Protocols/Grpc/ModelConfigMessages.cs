using InferenceServer.Core.Backends;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Tensors;
using Messages = InferenceServer.Protocols.Grpc.Messages;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// Builds the <c>ModelConfig</c> protobuf message that the ModelConfig RPC returns from our
/// <see cref="ModelConfig"/> record. It carries the same information as
/// <see cref="ModelConfigJsonWriter"/> writes for the REST config endpoint, including the values
/// that writer fills in (unnamed instance groups named <c>&lt;model&gt;_&lt;index&gt;</c>), so both
/// front-ends describe a model identically.
/// </summary>
internal static class ModelConfigMessages
{
    /// <summary>The config as a message, ready to put in a <c>ModelConfigResponse</c>.</summary>
    public static Messages.ModelConfig ToMessage(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);

        var message = new Messages.ModelConfig
        {
            Name = config.Name,
            Platform = config.Platform,
            Backend = config.Backend,
            VersionPolicy = ToMessage(config.VersionPolicy),
            MaxBatchSize = config.MaxBatchSize,
            DefaultModelFilename = config.DefaultModelFilename,
        };

        foreach (var input in config.Inputs)
        {
            var tensor = new Messages.ModelInput
            {
                Name = input.Name,
                DataType = ToMessage(input.DataType),
                Format = ToFormat(input.Format),
                Optional = input.Optional,
                Reshape = ToReshape(input.Reshape),
            };
            tensor.Dims.Add(input.Dims);
            message.Input.Add(tensor);
        }

        foreach (var output in config.Outputs)
        {
            var tensor = new Messages.ModelOutput
            {
                Name = output.Name,
                DataType = ToMessage(output.DataType),
                LabelFilename = output.LabelFilename,
                Reshape = ToReshape(output.Reshape),
            };
            tensor.Dims.Add(output.Dims);
            message.Output.Add(tensor);
        }

        if (config.Optimization is { } optimization)
        {
            message.Optimization = ToMessage(optimization);
        }
        if (config.DynamicBatching is { } batching)
        {
            message.DynamicBatching = ToMessage(batching);
        }

        for (var i = 0; i < config.InstanceGroups.Count; i++)
        {
            var group = config.InstanceGroups[i];
            var groupMessage = new Messages.ModelInstanceGroup
            {
                // As Triton and the JSON writer do: an unnamed group is reported as "<model>_<index>".
                Name = group.Name.Length > 0 ? group.Name : $"{config.Name}_{i}",
                Kind = ToMessage(group.Kind),
                Count = group.Count,
            };
            groupMessage.Gpus.Add(group.Gpus);
            message.InstanceGroup.Add(groupMessage);
        }

        foreach (var (key, value) in config.Parameters)
        {
            message.Parameters.Add(key, new Messages.ModelParameter { StringValue = value });
        }

        foreach (var warmup in config.ModelWarmup)
        {
            message.ModelWarmup.Add(ToMessage(warmup));
        }

        return message;
    }

    /// <summary>Our element type as the config's <c>TYPE_*</c> enum (whose numbers differ from ours).</summary>
    public static Messages.DataType ToMessage(DataType type) => type switch
    {
        DataType.Bool => Messages.DataType.TypeBool,
        DataType.UInt8 => Messages.DataType.TypeUint8,
        DataType.UInt16 => Messages.DataType.TypeUint16,
        DataType.UInt32 => Messages.DataType.TypeUint32,
        DataType.UInt64 => Messages.DataType.TypeUint64,
        DataType.Int8 => Messages.DataType.TypeInt8,
        DataType.Int16 => Messages.DataType.TypeInt16,
        DataType.Int32 => Messages.DataType.TypeInt32,
        DataType.Int64 => Messages.DataType.TypeInt64,
        DataType.Fp16 => Messages.DataType.TypeFp16,
        DataType.Bf16 => Messages.DataType.TypeBf16,
        DataType.Fp32 => Messages.DataType.TypeFp32,
        DataType.Fp64 => Messages.DataType.TypeFp64,
        DataType.Bytes => Messages.DataType.TypeString,
        _ => Messages.DataType.TypeInvalid,
    };

    private static Messages.ModelInstanceGroup.Types.Kind ToMessage(InstanceKind kind) => kind switch
    {
        InstanceKind.Cpu => Messages.ModelInstanceGroup.Types.Kind.Cpu,
        InstanceKind.Gpu => Messages.ModelInstanceGroup.Types.Kind.Gpu,
        _ => Messages.ModelInstanceGroup.Types.Kind.Auto,
    };

    // The reader accepts only these names; empty means the field was not given.
    private static Messages.ModelInput.Types.Format ToFormat(string format) => format switch
    {
        "FORMAT_NHWC" => Messages.ModelInput.Types.Format.Nhwc,
        "FORMAT_NCHW" => Messages.ModelInput.Types.Format.Nchw,
        "" or "FORMAT_NONE" => Messages.ModelInput.Types.Format.None,
        _ => throw new ArgumentException($"unknown input format '{format}'", nameof(format)),
    };

    private static Messages.ModelOptimizationPolicy.Types.ModelPriority ToPriority(string priority) => priority switch
    {
        "PRIORITY_MAX" => Messages.ModelOptimizationPolicy.Types.ModelPriority.PriorityMax,
        "PRIORITY_MIN" => Messages.ModelOptimizationPolicy.Types.ModelPriority.PriorityMin,
        "" or "PRIORITY_DEFAULT" => Messages.ModelOptimizationPolicy.Types.ModelPriority.PriorityDefault,
        _ => throw new ArgumentException($"unknown model priority '{priority}'", nameof(priority)),
    };

    // Null means no reshape; an empty array is a real reshape to a scalar and must stay present.
    private static Messages.ModelTensorReshape? ToReshape(long[]? reshape)
    {
        if (reshape is null)
        {
            return null;
        }
        var message = new Messages.ModelTensorReshape();
        message.Shape.Add(reshape);
        return message;
    }

    private static Messages.ModelVersionPolicy ToMessage(VersionPolicy policy)
    {
        var message = new Messages.ModelVersionPolicy();
        switch (policy.Kind)
        {
            case VersionPolicyKind.All:
                message.All = new Messages.ModelVersionPolicy.Types.All();
                break;
            case VersionPolicyKind.Specific:
                message.Specific = new Messages.ModelVersionPolicy.Types.Specific();
                message.Specific.Versions.Add(policy.Versions);
                break;
            default:
                message.Latest = new Messages.ModelVersionPolicy.Types.Latest { NumVersions = checked((uint)policy.NumVersions) };
                break;
        }
        return message;
    }

    // The wire has unsigned fields where our records use signed ones; the reader rejects negative
    // values, so a checked conversion only fails for a record built wrongly in code.
    private static Messages.ModelDynamicBatching ToMessage(DynamicBatchingConfig batching)
    {
        var message = new Messages.ModelDynamicBatching
        {
            MaxQueueDelayMicroseconds = checked((ulong)batching.MaxQueueDelayMicroseconds),
            PreserveOrdering = batching.PreserveOrdering,
            PriorityLevels = checked((ulong)batching.PriorityLevels),
            DefaultPriorityLevel = checked((ulong)batching.DefaultPriorityLevel),
            DefaultQueuePolicy = ToMessage(batching.DefaultQueuePolicy),
        };
        message.PreferredBatchSize.Add(batching.PreferredBatchSizes);
        foreach (var (level, policy) in batching.PriorityQueuePolicy)
        {
            message.PriorityQueuePolicy.Add(checked((ulong)level), ToMessage(policy));
        }
        return message;
    }

    private static Messages.ModelQueuePolicy ToMessage(QueuePolicyConfig policy) => new()
    {
        TimeoutAction = policy.TimeoutAction == TimeoutAction.Delay
            ? Messages.ModelQueuePolicy.Types.TimeoutAction.Delay
            : Messages.ModelQueuePolicy.Types.TimeoutAction.Reject,
        DefaultTimeoutMicroseconds = checked((ulong)policy.DefaultTimeoutMicroseconds),
        AllowTimeoutOverride = policy.AllowTimeoutOverride,
        MaxQueueSize = checked((uint)policy.MaxQueueSize),
    };

    private static Messages.ModelOptimizationPolicy ToMessage(OptimizationConfig optimization)
    {
        var message = new Messages.ModelOptimizationPolicy { Priority = ToPriority(optimization.Priority) };
        if (optimization.GraphLevel is { } level)
        {
            message.Graph = new Messages.ModelOptimizationPolicy.Types.Graph { Level = level };
        }
        // Like the JSON writer: the accelerators message appears only when it lists something.
        if (optimization.CpuExecutionAccelerators.Count > 0 || optimization.GpuExecutionAccelerators.Count > 0)
        {
            var accelerators = new Messages.ModelOptimizationPolicy.Types.ExecutionAccelerators();
            AddAccelerators(accelerators.GpuExecutionAccelerator, optimization.GpuExecutionAccelerators);
            AddAccelerators(accelerators.CpuExecutionAccelerator, optimization.CpuExecutionAccelerators);
            message.ExecutionAccelerators = accelerators;
        }
        return message;
    }

    private static void AddAccelerators(
        Google.Protobuf.Collections.RepeatedField<Messages.ModelOptimizationPolicy.Types.ExecutionAccelerators.Types.Accelerator> target,
        IReadOnlyList<ExecutionAcceleratorConfig> accelerators)
    {
        foreach (var accelerator in accelerators)
        {
            var message = new Messages.ModelOptimizationPolicy.Types.ExecutionAccelerators.Types.Accelerator { Name = accelerator.Name };
            foreach (var (key, value) in accelerator.Parameters)
            {
                message.Parameters.Add(key, value);
            }
            target.Add(message);
        }
    }

    private static Messages.ModelWarmup ToMessage(ModelWarmupConfig warmup)
    {
        var message = new Messages.ModelWarmup
        {
            Name = warmup.Name,
            BatchSize = checked((uint)warmup.BatchSize),
            Count = checked((uint)warmup.Count),
        };
        foreach (var (name, input) in warmup.Inputs)
        {
            var inputMessage = new Messages.ModelWarmup.Types.Input { DataType = ToMessage(input.DataType) };
            inputMessage.Dims.Add(input.Dims);
            switch (input.Source)
            {
                case WarmupDataSource.Random:
                    inputMessage.RandomData = true;
                    break;
                case WarmupDataSource.File:
                    inputMessage.InputDataFile = input.InputDataFile;
                    break;
                default:
                    inputMessage.ZeroData = true;
                    break;
            }
            message.Inputs.Add(name, inputMessage);
        }
        return message;
    }
}
