using System.Text.Json;
using Google.Protobuf;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Tensors;
using InferenceServer.Protocols.Grpc;
using InferenceServer.UnitTests.Repository;
using Messages = InferenceServer.Protocols.Grpc.Messages;

namespace InferenceServer.UnitTests.Protocols.Grpc;

public sealed class ModelConfigMessagesTests
{
    // Touches every field our config records hold, with values that differ from the defaults.
    private const string Rich = """
        name: "rich"
        platform: "onnxruntime_onnx"
        backend: "onnxruntime"
        max_batch_size: 16
        default_model_filename: "weights.onnx"
        version_policy: { specific: { versions: [ 3, 7 ] } }

        input [
          {
            name: "image"
            data_type: TYPE_UINT8
            format: FORMAT_NHWC
            dims: [ 224, 224, 3 ]
          },
          {
            name: "text"
            data_type: TYPE_STRING
            dims: [ -1 ]
            optional: true
          },
          {
            name: "flat"
            data_type: TYPE_BF16
            dims: [ 6 ]
            reshape: { shape: [ 2, 3 ] }
          }
        ]
        output [
          {
            name: "scores"
            data_type: TYPE_FP16
            dims: [ 2, 5 ]
            reshape: { shape: [ 10 ] }
            label_filename: "labels.txt"
          },
          {
            name: "count"
            data_type: TYPE_INT64
            dims: [ 1 ]
          }
        ]

        instance_group [
          { name: "cpus" count: 3 kind: KIND_CPU },
          { count: 2 kind: KIND_GPU gpus: [ 0, 1 ] },
          { kind: KIND_AUTO }
        ]

        dynamic_batching {
          preferred_batch_size: [ 4, 8 ]
          max_queue_delay_microseconds: 1500
          preserve_ordering: true
          priority_levels: 3
          default_priority_level: 2
          default_queue_policy {
            timeout_action: DELAY
            default_timeout_microseconds: 70000
            allow_timeout_override: true
            max_queue_size: 100
          }
          priority_queue_policy { key: 1 value: { max_queue_size: 10 } }
          priority_queue_policy { key: 3 value: { timeout_action: REJECT default_timeout_microseconds: 9 } }
        }

        parameters { key: "intra_op_thread_count" value: { string_value: "2" } }
        parameters { key: "enable_mem_arena" value: { string_value: "0" } }

        optimization {
          graph: { level: -1 }
          priority: PRIORITY_MAX
          execution_accelerators {
            gpu_execution_accelerator: [ { name: "tensorrt" parameters { key: "precision_mode" value: "FP16" } } ]
            cpu_execution_accelerator: [ { name: "openvino" } ]
          }
        }

        model_warmup [
          {
            name: "mixed"
            batch_size: 4
            count: 3
            inputs { key: "image" value: { data_type: TYPE_UINT8 dims: [ 224, 224, 3 ] random_data: true } }
            inputs { key: "text" value: { data_type: TYPE_STRING dims: [ 1 ] input_data_file: "text.bin" } }
            inputs { key: "flat" value: { data_type: TYPE_BF16 dims: [ 6 ] zero_data: true } }
          }
        ]
        """;

    private static readonly JsonFormatter ProtoNamesWithDefaults =
        new(JsonFormatter.Settings.Default.WithPreserveProtoFieldNames(true).WithFormatDefaultValues(true));

    private static ModelConfig Read(string text)
    {
        var result = ModelConfigReader.Parse(text);
        Assert.Empty(result.Warnings);
        return result.Config;
    }

    private static Messages.ModelConfig RichMessage() => ModelConfigMessages.ToMessage(Read(Rich));

    [Fact]
    public void Carries_the_top_level_fields_and_the_version_policy()
    {
        var message = RichMessage();
        Assert.Equal(("rich", "onnxruntime_onnx", "onnxruntime"), (message.Name, message.Platform, message.Backend));
        Assert.Equal(16, message.MaxBatchSize);
        Assert.Equal("weights.onnx", message.DefaultModelFilename);
        Assert.Equal(Messages.ModelVersionPolicy.PolicyChoiceOneofCase.Specific, message.VersionPolicy.PolicyChoiceCase);
        Assert.Equal([3L, 7], message.VersionPolicy.Specific.Versions);
        Assert.Equal(Messages.ModelConfig.SchedulingChoiceOneofCase.DynamicBatching, message.SchedulingChoiceCase);
    }

    [Fact]
    public void Carries_inputs_and_outputs_with_types_format_reshape_and_labels()
    {
        var message = RichMessage();
        Assert.Equal(["image", "text", "flat"], message.Input.Select(i => i.Name));

        var image = message.Input[0];
        Assert.Equal((Messages.DataType.TypeUint8, Messages.ModelInput.Types.Format.Nhwc), (image.DataType, image.Format));
        Assert.Equal([224L, 224, 3], image.Dims);
        Assert.Null(image.Reshape);
        Assert.False(image.Optional);

        var text = message.Input[1];
        Assert.Equal((Messages.DataType.TypeString, Messages.ModelInput.Types.Format.None), (text.DataType, text.Format));
        Assert.Equal([-1L], text.Dims);
        Assert.True(text.Optional);

        var flat = message.Input[2];
        Assert.Equal(Messages.DataType.TypeBf16, flat.DataType);
        Assert.Equal([2L, 3], flat.Reshape.Shape);

        var scores = message.Output[0];
        Assert.Equal(("scores", Messages.DataType.TypeFp16, "labels.txt"), (scores.Name, scores.DataType, scores.LabelFilename));
        Assert.Equal([2L, 5], scores.Dims);
        Assert.Equal([10L], scores.Reshape.Shape);
        var count = message.Output[1];
        Assert.Equal((Messages.DataType.TypeInt64, ""), (count.DataType, count.LabelFilename));
        Assert.Null(count.Reshape);
    }

    [Fact]
    public void Carries_instance_groups_naming_unnamed_ones_as_the_JSON_writer_does()
    {
        var groups = RichMessage().InstanceGroup;
        Assert.Equal(3, groups.Count);
        Assert.Equal(("cpus", Messages.ModelInstanceGroup.Types.Kind.Cpu, 3), (groups[0].Name, groups[0].Kind, groups[0].Count));
        Assert.Empty(groups[0].Gpus);
        Assert.Equal(("rich_1", Messages.ModelInstanceGroup.Types.Kind.Gpu, 2), (groups[1].Name, groups[1].Kind, groups[1].Count));
        Assert.Equal([0, 1], groups[1].Gpus);
        Assert.Equal(("rich_2", Messages.ModelInstanceGroup.Types.Kind.Auto, 1), (groups[2].Name, groups[2].Kind, groups[2].Count));
    }

    [Fact]
    public void Carries_dynamic_batching_with_priority_levels_and_queue_policies()
    {
        var batching = RichMessage().DynamicBatching;
        Assert.Equal([4, 8], batching.PreferredBatchSize);
        Assert.Equal(1500UL, batching.MaxQueueDelayMicroseconds);
        Assert.True(batching.PreserveOrdering);
        Assert.Equal((3UL, 2UL), (batching.PriorityLevels, batching.DefaultPriorityLevel));

        var fallback = batching.DefaultQueuePolicy;
        Assert.Equal(Messages.ModelQueuePolicy.Types.TimeoutAction.Delay, fallback.TimeoutAction);
        Assert.Equal(70000UL, fallback.DefaultTimeoutMicroseconds);
        Assert.True(fallback.AllowTimeoutOverride);
        Assert.Equal(100U, fallback.MaxQueueSize);

        Assert.Equal([1UL, 3], batching.PriorityQueuePolicy.Keys.Order().ToArray());
        Assert.Equal(10U, batching.PriorityQueuePolicy[1].MaxQueueSize);
        Assert.Equal(Messages.ModelQueuePolicy.Types.TimeoutAction.Reject, batching.PriorityQueuePolicy[3].TimeoutAction);
        Assert.Equal(9UL, batching.PriorityQueuePolicy[3].DefaultTimeoutMicroseconds);
    }

    [Fact]
    public void Carries_parameters_optimization_and_warmup()
    {
        var message = RichMessage();
        Assert.Equal(2, message.Parameters.Count);
        Assert.Equal("2", message.Parameters["intra_op_thread_count"].StringValue);
        Assert.Equal("0", message.Parameters["enable_mem_arena"].StringValue);

        var optimization = message.Optimization;
        Assert.Equal(-1, optimization.Graph.Level);
        Assert.Equal(Messages.ModelOptimizationPolicy.Types.ModelPriority.PriorityMax, optimization.Priority);
        var tensorrt = Assert.Single(optimization.ExecutionAccelerators.GpuExecutionAccelerator);
        Assert.Equal("tensorrt", tensorrt.Name);
        Assert.Equal("FP16", tensorrt.Parameters["precision_mode"]);
        var openvino = Assert.Single(optimization.ExecutionAccelerators.CpuExecutionAccelerator);
        Assert.Equal("openvino", openvino.Name);
        Assert.Empty(openvino.Parameters);

        var warmup = Assert.Single(message.ModelWarmup);
        Assert.Equal(("mixed", 4U, 3U), (warmup.Name, warmup.BatchSize, warmup.Count));
        var image = warmup.Inputs["image"];
        Assert.Equal(Messages.ModelWarmup.Types.Input.InputDataTypeOneofCase.RandomData, image.InputDataTypeCase);
        Assert.Equal(Messages.DataType.TypeUint8, image.DataType);
        Assert.Equal([224L, 224, 3], image.Dims);
        var text = warmup.Inputs["text"];
        Assert.Equal(Messages.ModelWarmup.Types.Input.InputDataTypeOneofCase.InputDataFile, text.InputDataTypeCase);
        Assert.Equal("text.bin", text.InputDataFile);
        Assert.Equal(Messages.ModelWarmup.Types.Input.InputDataTypeOneofCase.ZeroData, warmup.Inputs["flat"].InputDataTypeCase);
    }

    [Fact]
    public void Leaves_unset_parts_unset_and_fills_defaults_like_the_JSON_writer()
    {
        var message = ModelConfigMessages.ToMessage(Read(ModelConfigExampleTests.Simple));
        Assert.Equal(Messages.ModelVersionPolicy.PolicyChoiceOneofCase.Latest, message.VersionPolicy.PolicyChoiceCase);
        Assert.Equal(1U, message.VersionPolicy.Latest.NumVersions);
        Assert.Equal(Messages.ModelConfig.SchedulingChoiceOneofCase.None, message.SchedulingChoiceCase);
        Assert.Null(message.Optimization);
        Assert.Empty(message.InstanceGroup);
        Assert.Empty(message.Parameters);
        Assert.Empty(message.ModelWarmup);

        var all = ModelConfigMessages.ToMessage(new ModelConfig { Name = "m", VersionPolicy = new VersionPolicy { Kind = VersionPolicyKind.All } });
        Assert.Equal(Messages.ModelVersionPolicy.PolicyChoiceOneofCase.All, all.VersionPolicy.PolicyChoiceCase);

        // Only a priority given: no graph and no accelerators message, as in the JSON.
        var optimization = ModelConfigMessages.ToMessage(new ModelConfig { Name = "m", Optimization = new OptimizationConfig() }).Optimization;
        Assert.Equal(Messages.ModelOptimizationPolicy.Types.ModelPriority.PriorityDefault, optimization.Priority);
        Assert.Null(optimization.Graph);
        Assert.Null(optimization.ExecutionAccelerators);
    }

    [Fact]
    public void An_empty_reshape_stays_present()
    {
        var config = new ModelConfig
        {
            Name = "m",
            Inputs = [new TensorConfig { Name = "x", DataType = DataType.Fp32, Dims = [1], Reshape = [] }],
        };
        var parsed = Messages.ModelConfig.Parser.ParseFrom(ModelConfigMessages.ToMessage(config).ToByteArray());
        Assert.NotNull(parsed.Input[0].Reshape);
        Assert.Empty(parsed.Input[0].Reshape.Shape);
    }

    [Fact]
    public void Every_data_type_maps_to_the_enum_value_named_as_in_the_config()
    {
        var names = Messages.ModelConfigReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.EnumDescriptor>("DataType");
        foreach (var type in DataTypes.All)
        {
            var value = ModelConfigMessages.ToMessage(type);
            Assert.NotEqual(Messages.DataType.TypeInvalid, value);
            Assert.Equal(type.ConfigName(), names.FindValueByNumber((int)value).Name);
        }
        Assert.Equal(Messages.DataType.TypeInvalid, ModelConfigMessages.ToMessage(DataType.Invalid));
    }

    [Fact]
    public void Survives_a_round_trip_through_protobuf_bytes()
    {
        var message = RichMessage();
        var parsed = Messages.ModelConfig.Parser.ParseFrom(message.ToByteArray());
        Assert.Equal(message, parsed);
        Assert.Equal("rich_1", parsed.InstanceGroup[1].Name);
        Assert.Equal(9UL, parsed.DynamicBatching.PriorityQueuePolicy[3].DefaultTimeoutMicroseconds);
        Assert.Equal("text.bin", parsed.ModelWarmup[0].Inputs["text"].InputDataFile);

        var response = Messages.ModelConfigResponse.Parser.ParseFrom(new Messages.ModelConfigResponse { Config = message }.ToByteArray());
        Assert.Equal(message, response.Config);
    }

    // Expected bytes are written by hand from Triton's field numbers (tag = number << 3 | wire type;
    // 0 varint, 2 length-delimited), so a wrong number in model_config.proto fails here. The cases
    // favour fields whose numbers do not follow their order in the message.
    public static TheoryData<string, IMessage, byte[]> WireCases() => new()
    {
        { "ModelConfig.max_batch_size = 4", new Messages.ModelConfig { MaxBatchSize = 8 }, [0x20, 0x08] },
        { "ModelConfig.name = 1", new Messages.ModelConfig { Name = "m" }, [0x0A, 0x01, (byte)'m'] },
        { "ModelConfig.backend = 17", new Messages.ModelConfig { Backend = "b" }, [0x8A, 0x01, 0x01, (byte)'b'] },
        { "ModelConfig.runtime = 25", new Messages.ModelConfig { Runtime = "r" }, [0xCA, 0x01, 0x01, (byte)'r'] },
        { "ModelConfig.version_policy = 3", new Messages.ModelConfig { VersionPolicy = new() }, [0x1A, 0x00] },
        { "ModelConfig.instance_group = 7", Config(c => c.InstanceGroup.Add(new Messages.ModelInstanceGroup())), [0x3A, 0x00] },
        { "ModelConfig.default_model_filename = 8", new Messages.ModelConfig { DefaultModelFilename = "f" }, [0x42, 0x01, (byte)'f'] },
        { "ModelConfig.dynamic_batching = 11", new Messages.ModelConfig { DynamicBatching = new() }, [0x5A, 0x00] },
        { "ModelConfig.optimization = 12", new Messages.ModelConfig { Optimization = new() }, [0x62, 0x00] },
        { "ModelConfig.sequence_batching = 13", new Messages.ModelConfig { SequenceBatching = new() }, [0x6A, 0x00] },
        { "ModelConfig.ensemble_scheduling = 15", new Messages.ModelConfig { EnsembleScheduling = new() }, [0x7A, 0x00] },
        { "ModelConfig.model_warmup = 16", Config(c => c.ModelWarmup.Add(new Messages.ModelWarmup())), [0x82, 0x01, 0x00] },
        { "ModelConfig.response_cache = 24", new Messages.ModelConfig { ResponseCache = new() }, [0xC2, 0x01, 0x00] },
        // map entry: key = 1, value = 2
        { "ModelConfig.parameters = 14", Config(c => c.Parameters.Add("k", new Messages.ModelParameter { StringValue = "v" })),
            [0x72, 0x08, 0x0A, 0x01, (byte)'k', 0x12, 0x03, 0x0A, 0x01, (byte)'v'] },
        { "ModelInstanceGroup.kind = 4", new Messages.ModelInstanceGroup { Kind = Messages.ModelInstanceGroup.Types.Kind.Cpu }, [0x20, 0x02] },
        { "ModelInstanceGroup.count = 2", new Messages.ModelInstanceGroup { Count = 5 }, [0x10, 0x05] },
        { "ModelInstanceGroup.gpus = 3 (packed)", Group(g => g.Gpus.Add([0, 1])), [0x1A, 0x02, 0x00, 0x01] },
        { "ModelInput.data_type = 2, TYPE_FP32 = 11", new Messages.ModelInput { DataType = Messages.DataType.TypeFp32 }, [0x10, 0x0B] },
        { "ModelInput.format = 3, FORMAT_NCHW = 2", new Messages.ModelInput { Format = Messages.ModelInput.Types.Format.Nchw }, [0x18, 0x02] },
        { "ModelInput.dims = 4 (packed)", Input(i => i.Dims.Add([-1L])), [0x22, 0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01] },
        { "ModelInput.optional = 8", new Messages.ModelInput { Optional = true }, [0x40, 0x01] },
        { "ModelOutput.label_filename = 4", new Messages.ModelOutput { LabelFilename = "l" }, [0x22, 0x01, (byte)'l'] },
        { "ModelOutput.reshape = 5", new Messages.ModelOutput { Reshape = new() }, [0x2A, 0x00] },
        { "ModelOutput.data_type = 2, TYPE_STRING = 13", new Messages.ModelOutput { DataType = Messages.DataType.TypeString }, [0x10, 0x0D] },
        { "ModelVersionPolicy.specific = 3", new Messages.ModelVersionPolicy { Specific = new() }, [0x1A, 0x00] },
        { "ModelVersionPolicy.all = 2", new Messages.ModelVersionPolicy { All = new() }, [0x12, 0x00] },
        { "ModelDynamicBatching.max_queue_delay_microseconds = 2", new Messages.ModelDynamicBatching { MaxQueueDelayMicroseconds = 3 }, [0x10, 0x03] },
        { "ModelDynamicBatching.priority_levels = 4", new Messages.ModelDynamicBatching { PriorityLevels = 2 }, [0x20, 0x02] },
        { "ModelDynamicBatching.default_queue_policy = 6", new Messages.ModelDynamicBatching { DefaultQueuePolicy = new() }, [0x32, 0x00] },
        { "ModelDynamicBatching.priority_queue_policy = 7", Batching(b => b.PriorityQueuePolicy.Add(1, new Messages.ModelQueuePolicy())),
            [0x3A, 0x04, 0x08, 0x01, 0x12, 0x00] },
        { "ModelQueuePolicy.timeout_action = 1, DELAY = 1", new Messages.ModelQueuePolicy { TimeoutAction = Messages.ModelQueuePolicy.Types.TimeoutAction.Delay }, [0x08, 0x01] },
        { "ModelQueuePolicy.max_queue_size = 4", new Messages.ModelQueuePolicy { MaxQueueSize = 7 }, [0x20, 0x07] },
        { "ModelOptimizationPolicy.priority = 2, PRIORITY_MIN = 2",
            new Messages.ModelOptimizationPolicy { Priority = Messages.ModelOptimizationPolicy.Types.ModelPriority.PriorityMin }, [0x10, 0x02] },
        { "ModelOptimizationPolicy.execution_accelerators = 4", new Messages.ModelOptimizationPolicy { ExecutionAccelerators = new() }, [0x22, 0x00] },
        { "ExecutionAccelerators.cpu_execution_accelerator = 2", Accelerators(a => a.CpuExecutionAccelerator.Add(new Messages.ModelOptimizationPolicy.Types.ExecutionAccelerators.Types.Accelerator())), [0x12, 0x00] },
        { "ModelWarmup.Input.random_data = 4", new Messages.ModelWarmup.Types.Input { RandomData = true }, [0x20, 0x01] },
        { "ModelWarmup.Input.input_data_file = 5", new Messages.ModelWarmup.Types.Input { InputDataFile = "d" }, [0x2A, 0x01, (byte)'d'] },
        { "ModelWarmup.count = 4", new Messages.ModelWarmup { Count = 2 }, [0x20, 0x02] },
        { "ModelConfigResponse.config = 1", new Messages.ModelConfigResponse { Config = new() }, [0x0A, 0x00] },
    };

    [Theory]
    [MemberData(nameof(WireCases))]
    public void Fields_have_Tritons_numbers_on_the_wire(string field, IMessage message, byte[] expected)
    {
        Assert.True(expected.AsSpan().SequenceEqual(message.ToByteArray()),
            $"{field}: expected {Convert.ToHexString(expected)}, got {Convert.ToHexString(message.ToByteArray())}");
    }

    [Fact]
    public void Decodes_bytes_encoded_by_hand_as_a_Triton_server_would_send_them()
    {
        byte[] wire =
        [
            0x0A, 0x01, (byte)'m',            // name = "m"
            0x20, 0x10,                       // max_batch_size = 16
            0x2A, 0x06,                       // input { ... }
            0x10, 0x08,                       //   data_type = TYPE_INT32
            0x22, 0x02, 0x03, 0x04,           //   dims = [3, 4]
            0x3A, 0x04, 0x20, 0x01, 0x10, 0x02, // instance_group { kind = KIND_GPU, count = 2 }
            0x5A, 0x02, 0x10, 0x64,           // dynamic_batching { max_queue_delay_microseconds = 100 }
        ];
        var message = Messages.ModelConfig.Parser.ParseFrom(wire);
        Assert.Equal(("m", 16), (message.Name, message.MaxBatchSize));
        Assert.Equal(Messages.DataType.TypeInt32, message.Input[0].DataType);
        Assert.Equal([3L, 4], message.Input[0].Dims);
        Assert.Equal((Messages.ModelInstanceGroup.Types.Kind.Gpu, 2), (message.InstanceGroup[0].Kind, message.InstanceGroup[0].Count));
        Assert.Equal(100UL, message.DynamicBatching.MaxQueueDelayMicroseconds);
    }

    public static TheoryData<string> SampleModels()
    {
        var data = new TheoryData<string>();
        foreach (var directory in Directory.GetDirectories(Path.Combine(RepositoryRoot(), "models")).Order(StringComparer.Ordinal))
        {
            if (File.Exists(Path.Combine(directory, "config.pbtxt")))
            {
                data.Add(Path.GetFileName(directory));
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(SampleModels))]
    public void Agrees_with_the_JSON_writer_for_the_sample_model(string model)
    {
        var result = ModelConfigReader.ReadFile(Path.Combine(RepositoryRoot(), "models", model, "config.pbtxt"));
        AssertAgreesWithJsonWriter(result.Config);
    }

    [Fact]
    public void Agrees_with_the_JSON_writer_for_the_rich_and_example_configs()
    {
        AssertAgreesWithJsonWriter(Read(Rich));
        AssertAgreesWithJsonWriter(Read(ModelConfigExampleTests.Classifier));
        AssertAgreesWithJsonWriter(Read(ModelConfigExampleTests.Simple));
    }

    // Everything the JSON writer emits must be in the message's JSON with the same value; the
    // message may carry more (fields we never set, such as batch_input). Protobuf's JSON mapping
    // writes 64-bit integers as strings, so a number may match a string of the same digits.
    private static void AssertAgreesWithJsonWriter(ModelConfig config)
    {
        using var ours = JsonDocument.Parse(ModelConfigJsonWriter.ToUtf8Bytes(config));
        using var proto = JsonDocument.Parse(ProtoNamesWithDefaults.Format(ModelConfigMessages.ToMessage(config)));
        AssertContains(ours.RootElement, proto.RootElement, "$");
    }

    private static void AssertContains(JsonElement expected, JsonElement actual, string path)
    {
        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                Assert.True(actual.ValueKind == JsonValueKind.Object, $"{path}: expected an object, got {actual.ValueKind}");
                foreach (var property in expected.EnumerateObject())
                {
                    Assert.True(actual.TryGetProperty(property.Name, out var value), $"{path}.{property.Name}: missing from the message's JSON");
                    AssertContains(property.Value, value, $"{path}.{property.Name}");
                }
                break;
            case JsonValueKind.Array:
                Assert.True(actual.ValueKind == JsonValueKind.Array, $"{path}: expected an array, got {actual.ValueKind}");
                Assert.True(expected.GetArrayLength() == actual.GetArrayLength(), $"{path}: {expected.GetArrayLength()} items vs {actual.GetArrayLength()}");
                for (var i = 0; i < expected.GetArrayLength(); i++)
                {
                    AssertContains(expected[i], actual[i], $"{path}[{i}]");
                }
                break;
            case JsonValueKind.Number:
                var digits = actual.ValueKind == JsonValueKind.String ? actual.GetString() : actual.GetRawText();
                Assert.True(expected.GetRawText() == digits, $"{path}: {expected.GetRawText()} vs {actual.GetRawText()}");
                break;
            default:
                Assert.True(expected.ValueKind == actual.ValueKind && expected.GetRawText() == actual.GetRawText(),
                    $"{path}: {expected.GetRawText()} vs {actual.GetRawText()}");
                break;
        }
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "InferenceServer.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("cannot find InferenceServer.sln above " + AppContext.BaseDirectory);
    }

    private static Messages.ModelConfig Config(Action<Messages.ModelConfig> fill) => With(new Messages.ModelConfig(), fill);
    private static Messages.ModelInstanceGroup Group(Action<Messages.ModelInstanceGroup> fill) => With(new Messages.ModelInstanceGroup(), fill);
    private static Messages.ModelInput Input(Action<Messages.ModelInput> fill) => With(new Messages.ModelInput(), fill);
    private static Messages.ModelDynamicBatching Batching(Action<Messages.ModelDynamicBatching> fill) => With(new Messages.ModelDynamicBatching(), fill);
    private static Messages.ModelOptimizationPolicy.Types.ExecutionAccelerators Accelerators(Action<Messages.ModelOptimizationPolicy.Types.ExecutionAccelerators> fill) =>
        With(new Messages.ModelOptimizationPolicy.Types.ExecutionAccelerators(), fill);

    private static T With<T>(T message, Action<T> fill)
    {
        fill(message);
        return message;
    }
}
