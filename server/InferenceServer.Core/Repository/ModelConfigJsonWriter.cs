using System.Text.Json;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Repository;

/// <summary>
/// Writes a <see cref="ModelConfig"/> as Triton returns it from <c>GET /v2/models/{name}/config</c>:
/// proto field names, enum values as names, defaults written out (Triton prints primitive
/// fields even when unset, and clients such as perf_analyzer read them), integers as JSON numbers.
/// </summary>
public static class ModelConfigJsonWriter
{
    /// <summary>Writes the config as one JSON object.</summary>
    public static void Write(Utf8JsonWriter writer, ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(config);

        writer.WriteStartObject();
        writer.WriteString("name", config.Name);
        writer.WriteString("platform", config.Platform);
        writer.WriteString("backend", config.Backend);
        WriteVersionPolicy(writer, config.VersionPolicy);
        writer.WriteNumber("max_batch_size", config.MaxBatchSize);

        writer.WriteStartArray("input");
        foreach (var input in config.Inputs)
        {
            writer.WriteStartObject();
            writer.WriteString("name", input.Name);
            writer.WriteString("data_type", input.DataType.ConfigName());
            writer.WriteString("format", input.Format.Length == 0 ? "FORMAT_NONE" : input.Format);
            WriteNumbers(writer, "dims", input.Dims);
            WriteReshape(writer, input.Reshape);
            writer.WriteBoolean("is_shape_tensor", false);
            writer.WriteBoolean("allow_ragged_batch", false);
            writer.WriteBoolean("optional", input.Optional);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();

        writer.WriteStartArray("output");
        foreach (var output in config.Outputs)
        {
            writer.WriteStartObject();
            writer.WriteString("name", output.Name);
            writer.WriteString("data_type", output.DataType.ConfigName());
            WriteNumbers(writer, "dims", output.Dims);
            WriteReshape(writer, output.Reshape);
            writer.WriteString("label_filename", output.LabelFilename);
            writer.WriteBoolean("is_shape_tensor", false);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();

        if (config.Optimization is { } optimization)
        {
            WriteOptimization(writer, optimization);
        }
        if (config.DynamicBatching is { } batching)
        {
            WriteDynamicBatching(writer, batching);
        }

        writer.WriteStartArray("instance_group");
        for (var i = 0; i < config.InstanceGroups.Count; i++)
        {
            var group = config.InstanceGroups[i];
            writer.WriteStartObject();
            // Triton names an unnamed group "<model>_<index>" and reports that name.
            writer.WriteString("name", group.Name.Length > 0 ? group.Name : $"{config.Name}_{i}");
            writer.WriteString("kind", KindName(group.Kind));
            writer.WriteNumber("count", group.Count);
            WriteNumbers(writer, "gpus", group.Gpus);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();

        writer.WriteString("default_model_filename", config.DefaultModelFilename);

        writer.WriteStartObject("parameters");
        foreach (var (key, value) in config.Parameters)
        {
            writer.WriteStartObject(key);
            writer.WriteString("string_value", value);
            writer.WriteEndObject();
        }
        writer.WriteEndObject();

        writer.WriteStartArray("model_warmup");
        foreach (var warmup in config.ModelWarmup)
        {
            WriteWarmup(writer, warmup);
        }
        writer.WriteEndArray();

        writer.WriteEndObject();
    }

    /// <summary>The config as UTF-8 JSON bytes, ready for a response body.</summary>
    public static byte[] ToUtf8Bytes(ModelConfig config, bool indented = false)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented }))
        {
            Write(writer, config);
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteVersionPolicy(Utf8JsonWriter writer, VersionPolicy policy)
    {
        writer.WriteStartObject("version_policy");
        switch (policy.Kind)
        {
            case VersionPolicyKind.All:
                writer.WriteStartObject("all");
                writer.WriteEndObject();
                break;
            case VersionPolicyKind.Specific:
                writer.WriteStartObject("specific");
                WriteNumbers(writer, "versions", policy.Versions);
                writer.WriteEndObject();
                break;
            default:
                writer.WriteStartObject("latest");
                writer.WriteNumber("num_versions", policy.NumVersions);
                writer.WriteEndObject();
                break;
        }
        writer.WriteEndObject();
    }

    private static void WriteReshape(Utf8JsonWriter writer, long[]? reshape)
    {
        if (reshape is null)
        {
            return;
        }
        writer.WriteStartObject("reshape");
        WriteNumbers(writer, "shape", reshape);
        writer.WriteEndObject();
    }

    private static void WriteDynamicBatching(Utf8JsonWriter writer, DynamicBatchingConfig batching)
    {
        writer.WriteStartObject("dynamic_batching");
        WriteNumbers(writer, "preferred_batch_size", batching.PreferredBatchSizes);
        writer.WriteNumber("max_queue_delay_microseconds", batching.MaxQueueDelayMicroseconds);
        writer.WriteBoolean("preserve_ordering", batching.PreserveOrdering);
        writer.WriteNumber("priority_levels", batching.PriorityLevels);
        writer.WriteNumber("default_priority_level", batching.DefaultPriorityLevel);
        writer.WritePropertyName("default_queue_policy");
        WriteQueuePolicy(writer, batching.DefaultQueuePolicy);
        writer.WriteStartObject("priority_queue_policy");
        // JSON object keys are strings; sorted so the output does not depend on dictionary order.
        var levels = new List<int>(batching.PriorityQueuePolicy.Keys);
        levels.Sort();
        foreach (var level in levels)
        {
            writer.WritePropertyName(level.ToString(System.Globalization.CultureInfo.InvariantCulture));
            WriteQueuePolicy(writer, batching.PriorityQueuePolicy[level]);
        }
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void WriteQueuePolicy(Utf8JsonWriter writer, QueuePolicyConfig policy)
    {
        writer.WriteStartObject();
        writer.WriteString("timeout_action", policy.TimeoutAction == TimeoutAction.Delay ? "DELAY" : "REJECT");
        writer.WriteNumber("default_timeout_microseconds", policy.DefaultTimeoutMicroseconds);
        writer.WriteBoolean("allow_timeout_override", policy.AllowTimeoutOverride);
        writer.WriteNumber("max_queue_size", policy.MaxQueueSize);
        writer.WriteEndObject();
    }

    private static void WriteOptimization(Utf8JsonWriter writer, OptimizationConfig optimization)
    {
        writer.WriteStartObject("optimization");
        if (optimization.GraphLevel is { } level)
        {
            writer.WriteStartObject("graph");
            writer.WriteNumber("level", level);
            writer.WriteEndObject();
        }
        writer.WriteString("priority", optimization.Priority.Length == 0 ? "PRIORITY_DEFAULT" : optimization.Priority);
        if (optimization.CpuExecutionAccelerators.Count > 0 || optimization.GpuExecutionAccelerators.Count > 0)
        {
            writer.WriteStartObject("execution_accelerators");
            WriteAccelerators(writer, "gpu_execution_accelerator", optimization.GpuExecutionAccelerators);
            WriteAccelerators(writer, "cpu_execution_accelerator", optimization.CpuExecutionAccelerators);
            writer.WriteEndObject();
        }
        writer.WriteEndObject();
    }

    private static void WriteAccelerators(Utf8JsonWriter writer, string name, IReadOnlyList<ExecutionAcceleratorConfig> accelerators)
    {
        writer.WriteStartArray(name);
        foreach (var accelerator in accelerators)
        {
            writer.WriteStartObject();
            writer.WriteString("name", accelerator.Name);
            writer.WriteStartObject("parameters");
            foreach (var (key, value) in accelerator.Parameters)
            {
                writer.WriteString(key, value);
            }
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }

    private static void WriteWarmup(Utf8JsonWriter writer, ModelWarmupConfig warmup)
    {
        writer.WriteStartObject();
        writer.WriteString("name", warmup.Name);
        writer.WriteNumber("batch_size", warmup.BatchSize);
        writer.WriteStartObject("inputs");
        foreach (var (inputName, input) in warmup.Inputs)
        {
            writer.WriteStartObject(inputName);
            writer.WriteString("data_type", input.DataType.ConfigName());
            WriteNumbers(writer, "dims", input.Dims);
            switch (input.Source)
            {
                case WarmupDataSource.Random:
                    writer.WriteBoolean("random_data", true);
                    break;
                case WarmupDataSource.File:
                    writer.WriteString("input_data_file", input.InputDataFile);
                    break;
                default:
                    writer.WriteBoolean("zero_data", true);
                    break;
            }
            writer.WriteEndObject();
        }
        writer.WriteEndObject();
        writer.WriteNumber("count", warmup.Count);
        writer.WriteEndObject();
    }

    private static void WriteNumbers(Utf8JsonWriter writer, string name, IReadOnlyList<long> values)
    {
        writer.WriteStartArray(name);
        foreach (var value in values)
        {
            writer.WriteNumberValue(value);
        }
        writer.WriteEndArray();
    }

    private static void WriteNumbers(Utf8JsonWriter writer, string name, IReadOnlyList<int> values)
    {
        writer.WriteStartArray(name);
        foreach (var value in values)
        {
            writer.WriteNumberValue(value);
        }
        writer.WriteEndArray();
    }

    private static string KindName(InstanceKind kind) => kind switch
    {
        InstanceKind.Cpu => "KIND_CPU",
        InstanceKind.Gpu => "KIND_GPU",
        _ => "KIND_AUTO",
    };
}
