using Google.Protobuf;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Tensors;
using Messages = InferenceServer.Protocols.Grpc.Messages;
using DataType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.UnitTests.Repository;

/// <summary>
/// The config message is what the ModelConfig RPC returns, so its field numbers are Triton's and it survives the
/// trip through bytes (and through JSON, for the REST endpoint and the load API) unchanged.
/// </summary>
public sealed class ModelConfigWireTests
{
    // Touches every part of the config the server acts on, with values that differ from the defaults.
    internal const string Rich = """
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

    private static ModelConfig Read(string text)
    {
        var result = ModelConfigReader.Parse(text);
        Assert.Empty(result.Warnings);
        return result.Config;
    }

    private static void AssertRoundTrips(ModelConfig config)
    {
        Assert.Equal(config, ModelConfig.Parser.ParseFrom(config.ToByteArray()));
        var response = Messages.ModelConfigResponse.Parser.ParseFrom(new Messages.ModelConfigResponse { Config = config }.ToByteArray());
        Assert.Equal(config, response.Config);
        Assert.Equal(config, ModelConfigJson.Parse(ModelConfigJson.Format(config)).Config);
    }

    [Fact]
    public void The_rich_and_example_configs_survive_bytes_and_JSON()
    {
        var rich = Read(Rich);
        ModelConfigDefaults.NameInstanceGroups(rich);
        AssertRoundTrips(rich);
        var parsed = ModelConfig.Parser.ParseFrom(rich.ToByteArray());
        Assert.Equal("rich_1", parsed.InstanceGroup[1].Name);
        Assert.Equal(9UL, parsed.DynamicBatching.PriorityQueuePolicy[3].DefaultTimeoutMicroseconds);
        Assert.Equal("text.bin", parsed.ModelWarmup[0].Inputs["text"].InputDataFile);
        Assert.Equal([2L, 3], parsed.Input[2].Reshape.Shape);

        AssertRoundTrips(Read(ModelConfigExampleTests.Classifier));
        AssertRoundTrips(Read(ModelConfigExampleTests.Simple));
    }

    [Fact]
    public void An_empty_reshape_stays_present()
    {
        var config = Read("max_batch_size: 4 input { name: 'x' data_type: TYPE_FP32 dims: [ 1 ] reshape { } }");
        var parsed = ModelConfig.Parser.ParseFrom(config.ToByteArray());
        Assert.NotNull(parsed.Input[0].Reshape);
        Assert.Empty(parsed.Input[0].Reshape.Shape);
        Assert.Empty(ModelConfigJson.Parse(ModelConfigJson.Format(config)).Config.Input[0].Reshape.Shape);
    }

    [Fact]
    public void Every_data_type_maps_to_the_enum_value_named_as_in_the_config()
    {
        var names = ModelConfigReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.EnumDescriptor>("DataType");
        foreach (var type in DataTypes.All)
        {
            var value = type.ToConfigType();
            Assert.NotEqual(Core.Repository.DataType.TypeInvalid, value);
            Assert.Equal(type.ConfigName(), names.FindValueByNumber((int)value).Name);
            Assert.Equal(type, value.ToTensorType());
        }
        Assert.Equal(Core.Repository.DataType.TypeInvalid, DataType.Invalid.ToConfigType());
        Assert.Equal(DataType.Invalid, Core.Repository.DataType.TypeInvalid.ToTensorType());
    }

    // Expected bytes are written by hand from Triton's field numbers (tag = number << 3 | wire type;
    // 0 varint, 2 length-delimited), so a wrong number in model_config.proto fails here. The cases
    // favour fields whose numbers do not follow their order in the message.
    public static TheoryData<string, IMessage, byte[]> WireCases() => new()
    {
        { "ModelConfig.max_batch_size = 4", new ModelConfig { MaxBatchSize = 8 }, [0x20, 0x08] },
        { "ModelConfig.name = 1", new ModelConfig { Name = "m" }, [0x0A, 0x01, (byte)'m'] },
        { "ModelConfig.backend = 17", new ModelConfig { Backend = "b" }, [0x8A, 0x01, 0x01, (byte)'b'] },
        { "ModelConfig.runtime = 25", new ModelConfig { Runtime = "r" }, [0xCA, 0x01, 0x01, (byte)'r'] },
        { "ModelConfig.version_policy = 3", new ModelConfig { VersionPolicy = new() }, [0x1A, 0x00] },
        { "ModelConfig.instance_group = 7", Config(c => c.InstanceGroup.Add(new ModelInstanceGroup())), [0x3A, 0x00] },
        { "ModelConfig.default_model_filename = 8", new ModelConfig { DefaultModelFilename = "f" }, [0x42, 0x01, (byte)'f'] },
        { "ModelConfig.dynamic_batching = 11", new ModelConfig { DynamicBatching = new() }, [0x5A, 0x00] },
        { "ModelConfig.optimization = 12", new ModelConfig { Optimization = new() }, [0x62, 0x00] },
        { "ModelConfig.sequence_batching = 13", new ModelConfig { SequenceBatching = new() }, [0x6A, 0x00] },
        { "ModelConfig.ensemble_scheduling = 15", new ModelConfig { EnsembleScheduling = new() }, [0x7A, 0x00] },
        { "ModelConfig.model_warmup = 16", Config(c => c.ModelWarmup.Add(new ModelWarmup())), [0x82, 0x01, 0x00] },
        { "ModelConfig.response_cache = 24", new ModelConfig { ResponseCache = new() }, [0xC2, 0x01, 0x00] },
        // map entry: key = 1, value = 2
        { "ModelConfig.parameters = 14", Config(c => c.Parameters.Add("k", new ModelParameter { StringValue = "v" })),
            [0x72, 0x08, 0x0A, 0x01, (byte)'k', 0x12, 0x03, 0x0A, 0x01, (byte)'v'] },
        { "ModelInstanceGroup.kind = 4", new ModelInstanceGroup { Kind = ModelInstanceGroup.Types.Kind.Cpu }, [0x20, 0x02] },
        { "ModelInstanceGroup.count = 2", new ModelInstanceGroup { Count = 5 }, [0x10, 0x05] },
        { "ModelInstanceGroup.gpus = 3 (packed)", Group(g => g.Gpus.Add([0, 1])), [0x1A, 0x02, 0x00, 0x01] },
        { "ModelInput.data_type = 2, TYPE_FP32 = 11", new ModelInput { DataType = Core.Repository.DataType.TypeFp32 }, [0x10, 0x0B] },
        { "ModelInput.format = 3, FORMAT_NCHW = 2", new ModelInput { Format = ModelInput.Types.Format.Nchw }, [0x18, 0x02] },
        { "ModelInput.dims = 4 (packed)", Input(i => i.Dims.Add([-1L])), [0x22, 0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01] },
        { "ModelInput.optional = 8", new ModelInput { Optional = true }, [0x40, 0x01] },
        { "ModelOutput.label_filename = 4", new ModelOutput { LabelFilename = "l" }, [0x22, 0x01, (byte)'l'] },
        { "ModelOutput.reshape = 5", new ModelOutput { Reshape = new() }, [0x2A, 0x00] },
        { "ModelOutput.data_type = 2, TYPE_STRING = 13", new ModelOutput { DataType = Core.Repository.DataType.TypeString }, [0x10, 0x0D] },
        { "ModelVersionPolicy.specific = 3", new ModelVersionPolicy { Specific = new() }, [0x1A, 0x00] },
        { "ModelVersionPolicy.all = 2", new ModelVersionPolicy { All = new() }, [0x12, 0x00] },
        { "ModelDynamicBatching.max_queue_delay_microseconds = 2", new ModelDynamicBatching { MaxQueueDelayMicroseconds = 3 }, [0x10, 0x03] },
        { "ModelDynamicBatching.priority_levels = 4", new ModelDynamicBatching { PriorityLevels = 2 }, [0x20, 0x02] },
        { "ModelDynamicBatching.default_queue_policy = 6", new ModelDynamicBatching { DefaultQueuePolicy = new() }, [0x32, 0x00] },
        { "ModelDynamicBatching.priority_queue_policy = 7", Batching(b => b.PriorityQueuePolicy.Add(1, new ModelQueuePolicy())),
            [0x3A, 0x04, 0x08, 0x01, 0x12, 0x00] },
        { "ModelQueuePolicy.timeout_action = 1, DELAY = 1", new ModelQueuePolicy { TimeoutAction = ModelQueuePolicy.Types.TimeoutAction.Delay }, [0x08, 0x01] },
        { "ModelQueuePolicy.max_queue_size = 4", new ModelQueuePolicy { MaxQueueSize = 7 }, [0x20, 0x07] },
        { "ModelOptimizationPolicy.priority = 2, PRIORITY_MIN = 2",
            new ModelOptimizationPolicy { Priority = ModelOptimizationPolicy.Types.ModelPriority.PriorityMin }, [0x10, 0x02] },
        { "ModelOptimizationPolicy.execution_accelerators = 4", new ModelOptimizationPolicy { ExecutionAccelerators = new() }, [0x22, 0x00] },
        { "ExecutionAccelerators.cpu_execution_accelerator = 2", Accelerators(a => a.CpuExecutionAccelerator.Add(new ModelOptimizationPolicy.Types.ExecutionAccelerators.Types.Accelerator())), [0x12, 0x00] },
        { "ModelWarmup.Input.random_data = 4", new ModelWarmup.Types.Input { RandomData = true }, [0x20, 0x01] },
        { "ModelWarmup.Input.input_data_file = 5", new ModelWarmup.Types.Input { InputDataFile = "d" }, [0x2A, 0x01, (byte)'d'] },
        { "ModelWarmup.count = 4", new ModelWarmup { Count = 2 }, [0x20, 0x02] },
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
        var message = ModelConfig.Parser.ParseFrom(wire);
        Assert.Equal(("m", 16), (message.Name, message.MaxBatchSize));
        Assert.Equal(Core.Repository.DataType.TypeInt32, message.Input[0].DataType);
        Assert.Equal([3L, 4], message.Input[0].Dims);
        Assert.Equal((ModelInstanceGroup.Types.Kind.Gpu, 2), (message.InstanceGroup[0].Kind, message.InstanceGroup[0].Count));
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
    public void The_sample_models_read_cleanly_and_survive_JSON_and_bytes(string model)
    {
        var result = ModelConfigReader.ReadFile(Path.Combine(RepositoryRoot(), "models", model, "config.pbtxt"));
        Assert.Empty(result.Warnings);
        AssertRoundTrips(result.Config);
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

    private static ModelConfig Config(Action<ModelConfig> fill) => With(new ModelConfig(), fill);
    private static ModelInstanceGroup Group(Action<ModelInstanceGroup> fill) => With(new ModelInstanceGroup(), fill);
    private static ModelInput Input(Action<ModelInput> fill) => With(new ModelInput(), fill);
    private static ModelDynamicBatching Batching(Action<ModelDynamicBatching> fill) => With(new ModelDynamicBatching(), fill);
    private static ModelOptimizationPolicy.Types.ExecutionAccelerators Accelerators(Action<ModelOptimizationPolicy.Types.ExecutionAccelerators> fill) =>
        With(new ModelOptimizationPolicy.Types.ExecutionAccelerators(), fill);

    private static T With<T>(T message, Action<T> fill)
    {
        fill(message);
        return message;
    }
}
