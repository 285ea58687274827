using InferenceServer.Core.Backends;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Tensors;
using DataType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.UnitTests.Repository;

public sealed class ModelConfigReaderTests
{
    private const string MinimalIo = """
        input { name: "IN" data_type: TYPE_FP32 dims: [ 4 ] }
        output { name: "OUT" data_type: TYPE_FP32 dims: [ 4 ] }
        """;

    // Triton's default version policy, filled in when a config gives none.
    private static readonly ModelVersionPolicy LatestOne = new() { Latest = new() { NumVersions = 1 } };

    private static ModelConfigReadResult Read(string text) => ModelConfigReader.Parse(text, "config.pbtxt");

    private static ModelConfig Config(string text)
    {
        var result = Read(text);
        Assert.Empty(result.Warnings);
        return result.Config;
    }

    [Fact]
    public void Empty_file_gives_Triton_defaults()
    {
        var config = Config("");
        Assert.Equal("", config.Name);
        Assert.Equal(0, config.MaxBatchSize);
        Assert.Empty(config.Input);
        Assert.Equal(LatestOne, config.VersionPolicy);
        Assert.Empty(config.InstanceGroup);
        Assert.Null(config.DynamicBatching);
        Assert.Null(config.Optimization);
        Assert.Empty(config.Parameters);
        Assert.Empty(config.ModelWarmup);
    }

    [Fact]
    public void Reads_top_level_scalars()
    {
        var config = Config("""
            name: "resnet"
            platform: "onnxruntime_onnx"
            backend: "onnxruntime"
            max_batch_size: 32
            default_model_filename: "model_v2.onnx"
            """);
        Assert.Equal("resnet", config.Name);
        Assert.Equal("onnxruntime_onnx", config.Platform);
        Assert.Equal("onnxruntime", config.Backend);
        Assert.Equal(32, config.MaxBatchSize);
        Assert.Equal("model_v2.onnx", config.DefaultModelFilename);
    }

    [Fact]
    public void Reads_inputs_with_every_field()
    {
        var config = Config("""
            max_batch_size: 4
            input {
              name: "image"
              data_type: TYPE_UINT8
              format: FORMAT_NHWC
              dims: [ 224, 224, 3 ]
              optional: true
              is_shape_tensor: false
              allow_ragged_batch: false
            }
            input [
              { name: "flat", data_type: TYPE_FP32, dims: [ 6 ], reshape: { shape: [ 2, 3 ] } },
              { name: "text" data_type: TYPE_STRING dims: -1 }
            ]
            """);
        Assert.Equal(3, config.Input.Count);
        var image = config.Input[0];
        Assert.Equal("image", image.Name);
        Assert.Equal(DataType.UInt8, image.ElementType());
        Assert.Equal(ModelInput.Types.Format.Nhwc, image.Format);
        Assert.Equal([224L, 224, 3], image.Dims);
        Assert.True(image.Optional);
        Assert.Null(image.Reshape);
        Assert.Equal([2L, 3], config.Input[1].Reshape.Shape);
        Assert.False(config.Input[1].Optional);
        Assert.Equal(ModelInput.Types.Format.None, config.Input[1].Format);
        Assert.Equal(DataType.Bytes, config.Input[2].ElementType());
        Assert.Equal([-1L], config.Input[2].Dims);
    }

    [Fact]
    public void Reads_outputs_with_label_file_and_reshape()
    {
        var config = Config("""
            max_batch_size: 8
            output {
              name: "probs"
              data_type: TYPE_FP16
              dims: [ 1000 ]
              reshape { shape: [ 1, 1000 ] }
              label_filename: "labels.txt"
              is_shape_tensor: false
            }
            """);
        var output = Assert.Single(config.Output);
        Assert.Equal(DataType.Fp16, output.ElementType());
        Assert.Equal([1L, 1000], output.Reshape.Shape);
        Assert.Equal("labels.txt", output.LabelFilename);
    }

    [Theory]
    [InlineData("TYPE_BOOL", DataType.Bool)]
    [InlineData("TYPE_UINT8", DataType.UInt8)]
    [InlineData("TYPE_UINT16", DataType.UInt16)]
    [InlineData("TYPE_UINT32", DataType.UInt32)]
    [InlineData("TYPE_UINT64", DataType.UInt64)]
    [InlineData("TYPE_INT8", DataType.Int8)]
    [InlineData("TYPE_INT16", DataType.Int16)]
    [InlineData("TYPE_INT32", DataType.Int32)]
    [InlineData("TYPE_INT64", DataType.Int64)]
    [InlineData("TYPE_FP16", DataType.Fp16)]
    [InlineData("TYPE_FP32", DataType.Fp32)]
    [InlineData("TYPE_FP64", DataType.Fp64)]
    [InlineData("TYPE_STRING", DataType.Bytes)]
    [InlineData("TYPE_BF16", DataType.Bf16)]
    [InlineData("11", DataType.Fp32)]
    [InlineData("13", DataType.Bytes)]
    public void Reads_every_data_type_by_name_or_proto_number(string written, DataType expected)
    {
        var config = Config($"input {{ name: 'x' data_type: {written} dims: 1 }}");
        Assert.Equal(expected, config.Input[0].ElementType());
    }

    [Fact]
    public void Reshape_to_scalar_is_allowed_for_batching_models()
    {
        var config = Config("max_batch_size: 8 input { name: 'x' data_type: TYPE_INT64 dims: [1] reshape: { shape: [] } }");
        Assert.NotNull(config.Input[0].Reshape);
        Assert.Empty(config.Input[0].Reshape.Shape);
    }

    [Fact]
    public void Reshape_with_variable_dims_is_not_counted()
    {
        var config = Config("input { name: 'x' data_type: TYPE_FP32 dims: [-1, 6] reshape { shape: [-1, 2, 3] } }");
        Assert.Equal([-1L, 2, 3], config.Input[0].Reshape.Shape);
    }

    [Fact]
    public void Reads_version_policy_latest()
    {
        var policy = Config("version_policy: { latest: { num_versions: 2 } }").VersionPolicy;
        Assert.Equal(ModelVersionPolicy.PolicyChoiceOneofCase.Latest, policy.PolicyChoiceCase);
        Assert.Equal(2U, policy.Latest.NumVersions);
    }

    [Fact]
    public void Reads_version_policy_all()
    {
        Assert.Equal(ModelVersionPolicy.PolicyChoiceOneofCase.All, Config("version_policy { all {} }").VersionPolicy.PolicyChoiceCase);
        Assert.Equal(ModelVersionPolicy.PolicyChoiceOneofCase.All, Config("version_policy: < all: < > >").VersionPolicy.PolicyChoiceCase);
    }

    [Fact]
    public void Reads_version_policy_specific()
    {
        var policy = Config("version_policy { specific { versions: [1, 3] versions: 7 } }").VersionPolicy;
        Assert.Equal(ModelVersionPolicy.PolicyChoiceOneofCase.Specific, policy.PolicyChoiceCase);
        Assert.Equal([1L, 3, 7], policy.Specific.Versions);
    }

    [Fact]
    public void Empty_version_policy_keeps_the_default()
    {
        Assert.Equal(LatestOne, Config("version_policy {}").VersionPolicy);
    }

    [Fact]
    public void Reads_instance_groups()
    {
        var config = Config("""
            instance_group [
              { name: "cpu_pool" count: 4 kind: KIND_CPU },
              { count: 2 kind: KIND_GPU gpus: [ 0, 1 ] }
            ]
            instance_group { kind: KIND_AUTO }
            """);
        var groups = config.InstanceGroup;
        Assert.Equal(3, groups.Count);
        Assert.Equal(("cpu_pool", 4, InstanceKind.Cpu), (groups[0].Name, groups[0].Count, groups[0].Kind.ToInstanceKind()));
        Assert.Empty(groups[0].Gpus);
        Assert.Equal(("", 2, InstanceKind.Gpu), (groups[1].Name, groups[1].Count, groups[1].Kind.ToInstanceKind()));
        Assert.Equal([0, 1], groups[1].Gpus);
        Assert.Equal((1, InstanceKind.Auto), (groups[2].Count, groups[2].Kind.ToInstanceKind()));
    }

    [Fact]
    public void Instance_count_zero_means_one()
    {
        Assert.Equal(1, Config("instance_group { count: 0 kind: KIND_CPU }").InstanceGroup[0].Count);
    }

    [Fact]
    public void Kind_model_is_read_as_auto_with_a_warning()
    {
        var result = Read("instance_group { kind: KIND_MODEL }");
        Assert.Equal(InstanceKind.Auto, result.Config.InstanceGroup[0].Kind.ToInstanceKind());
        var warning = Assert.Single(result.Warnings);
        Assert.Contains("KIND_MODEL", warning.Message);
        Assert.Equal("instance_group[0].kind", warning.FieldPath);
    }

    [Fact]
    public void Reads_dynamic_batching_with_priority_queue_policies()
    {
        var config = Config("""
            max_batch_size: 16
            dynamic_batching {
              preferred_batch_size: [ 4, 8 ]
              preferred_batch_size: 16
              max_queue_delay_microseconds: 500
              preserve_ordering: true
              priority_levels: 3
              default_priority_level: 2
              default_queue_policy {
                timeout_action: DELAY
                default_timeout_microseconds: 100000
                allow_timeout_override: true
                max_queue_size: 64
              }
              priority_queue_policy {
                key: 1
                value: { timeout_action: REJECT max_queue_size: 8 }
              }
              priority_queue_policy: [
                { key: 3, value { default_timeout_microseconds: 5000 allow_timeout_override: false } }
              ]
            }
            """);
        var batching = config.DynamicBatching;
        Assert.Equal([4, 8, 16], batching.PreferredBatchSize);
        Assert.Equal(500UL, batching.MaxQueueDelayMicroseconds);
        Assert.True(batching.PreserveOrdering);
        Assert.Equal(3UL, batching.PriorityLevels);
        Assert.Equal(2UL, batching.DefaultPriorityLevel);
        Assert.Equal(
            new ModelQueuePolicy { TimeoutAction = ModelQueuePolicy.Types.TimeoutAction.Delay, DefaultTimeoutMicroseconds = 100_000, AllowTimeoutOverride = true, MaxQueueSize = 64 },
            batching.DefaultQueuePolicy);
        Assert.Equal(2, batching.PriorityQueuePolicy.Count);
        Assert.Equal(new ModelQueuePolicy { TimeoutAction = ModelQueuePolicy.Types.TimeoutAction.Reject, MaxQueueSize = 8 }, batching.PriorityQueuePolicy[1]);
        Assert.Equal(new ModelQueuePolicy { DefaultTimeoutMicroseconds = 5000 }, batching.PriorityQueuePolicy[3]);
    }

    [Fact]
    public void Empty_dynamic_batching_turns_batching_on_with_defaults()
    {
        var config = Config("max_batch_size: 8 dynamic_batching { }");
        Assert.Equal(ModelConfig.SchedulingChoiceOneofCase.DynamicBatching, config.SchedulingChoiceCase);
        var batching = config.DynamicBatching;
        Assert.Empty(batching.PreferredBatchSize);
        Assert.Equal(0UL, batching.MaxQueueDelayMicroseconds);
        Assert.Equal(0UL, batching.PriorityLevels);
        // Not given: the scheduler uses a default policy (REJECT, no timeout, unbounded).
        Assert.Null(batching.DefaultQueuePolicy);
        Assert.Empty(batching.PriorityQueuePolicy);
    }

    [Fact]
    public void Reads_parameters_in_both_entry_syntaxes()
    {
        var config = Config("""
            parameters { key: "intra_op_thread_count" value: { string_value: "4" } }
            parameters: { key: "execution_mode" value { string_value: "1" } }
            parameters [ { key: "empty" value: {} } ]
            """);
        Assert.Equal(3, config.Parameters.Count);
        Assert.Equal("4", config.Parameters["intra_op_thread_count"].StringValue);
        Assert.Equal("1", config.Parameters["execution_mode"].StringValue);
        Assert.Equal("", config.Parameters["empty"].StringValue);
    }

    [Fact]
    public void Duplicate_parameter_key_keeps_the_last_with_a_warning()
    {
        var result = Read("""
            parameters { key: "a" value: { string_value: "1" } }
            parameters { key: "a" value: { string_value: "2" } }
            """);
        Assert.Equal("2", result.Config.Parameters["a"].StringValue);
        var warning = Assert.Single(result.Warnings);
        Assert.Equal(2, warning.Line);
        Assert.Contains("more than once", warning.Message);
    }

    [Fact]
    public void Reads_model_warmup()
    {
        var config = Config("""
            max_batch_size: 8
            input { name: "a" data_type: TYPE_FP32 dims: [ 4 ] }
            input { name: "b" data_type: TYPE_INT64 dims: [ -1 ] }
            input { name: "c" data_type: TYPE_STRING dims: [ 1 ] }
            model_warmup [
              {
                name: "zeros"
                batch_size: 8
                count: 3
                inputs { key: "a" value: { data_type: TYPE_FP32 dims: [ 4 ] zero_data: true } }
                inputs { key: "b" value: { data_type: TYPE_INT64 dims: [ 7 ] random_data: true } }
                inputs { key: "c" value: { data_type: TYPE_STRING dims: [ 1 ] input_data_file: "c.bin" } }
              },
              { name: "defaults" inputs { key: "a" value { data_type: TYPE_FP32 dims: 4 random_data: true } } count: 0 }
            ]
            """);
        Assert.Equal(2, config.ModelWarmup.Count);
        var warmup = config.ModelWarmup[0];
        Assert.Equal(("zeros", 8U, 3U), (warmup.Name, warmup.BatchSize, warmup.Count));
        Assert.Equal(3, warmup.Inputs.Count);
        Assert.Equal(ModelWarmup.Types.Input.InputDataTypeOneofCase.ZeroData, warmup.Inputs["a"].InputDataTypeCase);
        Assert.Equal([4L], warmup.Inputs["a"].Dims);
        Assert.Equal(ModelWarmup.Types.Input.InputDataTypeOneofCase.RandomData, warmup.Inputs["b"].InputDataTypeCase);
        Assert.Equal(DataType.Int64, warmup.Inputs["b"].DataType.ToTensorType());
        Assert.Equal(ModelWarmup.Types.Input.InputDataTypeOneofCase.InputDataFile, warmup.Inputs["c"].InputDataTypeCase);
        Assert.Equal("c.bin", warmup.Inputs["c"].InputDataFile);
        Assert.Equal((1U, 1U), (config.ModelWarmup[1].BatchSize, config.ModelWarmup[1].Count));
    }

    [Fact]
    public void Reads_optimization()
    {
        var config = Config("""
            optimization {
              graph { level: -1 }
              priority: PRIORITY_MAX
              execution_accelerators {
                gpu_execution_accelerator [
                  { name: "tensorrt" parameters { key: "precision_mode" value: "FP16" } parameters { key: "max_workspace_size_bytes" value: "1073741824" } }
                ]
                cpu_execution_accelerator: [ { name: "openvino" } ]
              }
              cuda { graphs: true }
              input_pinned_memory { enable: false }
              output_pinned_memory: { enable: true }
              gather_kernel_buffer_threshold: 0
              eager_batching: true
            }
            """);
        var optimization = config.Optimization;
        Assert.Equal(-1, optimization.Graph.Level);
        Assert.Equal(ModelOptimizationPolicy.Types.ModelPriority.PriorityMax, optimization.Priority);
        var trt = Assert.Single(optimization.ExecutionAccelerators.GpuExecutionAccelerator);
        Assert.Equal("tensorrt", trt.Name);
        Assert.Equal("FP16", trt.Parameters["precision_mode"]);
        Assert.Equal("1073741824", trt.Parameters["max_workspace_size_bytes"]);
        Assert.Equal("openvino", Assert.Single(optimization.ExecutionAccelerators.CpuExecutionAccelerator).Name);
        Assert.Empty(optimization.ExecutionAccelerators.CpuExecutionAccelerator[0].Parameters);
        Assert.True(optimization.Cuda.Graphs);
        Assert.True(optimization.EagerBatching);
    }

    [Fact]
    public void Optimization_without_graph_leaves_level_unset()
    {
        var optimization = Config("optimization { priority: PRIORITY_DEFAULT }").Optimization;
        Assert.Null(optimization.Graph?.Level);
        Assert.Equal(0, Config("optimization { graph {} }").Optimization.Graph?.Level);
    }

    [Fact]
    public void Triton_fields_that_change_no_answer_warn_and_are_ignored()
    {
        var result = Read("""
            name: "m"
            cc_model_filenames { key: "7.5" value: "model.plan" }
            metric_tags { key: "team" value: "search" }
            model_metrics { }
            runtime: ""
            response_cache { enable: false }
            model_transaction_policy { decoupled: false }
            model_repository_agents { }
            model_operations { }
            """);
        Assert.Equal("m", result.Config.Name);
        Assert.Equal(["cc_model_filenames", "metric_tags", "model_metrics"], result.Warnings.Select(w => w.FieldPath));
        Assert.Equal("config.pbtxt:2:1: field 'cc_model_filenames' is not supported by this server; ignored", result.Warnings[0].ToString());
        Assert.Empty(result.UnknownFields);
    }

    // A config that asks for something this server does not do must not load as if it had not asked: a stateful
    // model served as stateless answers wrongly. The reason names the feature and where the config asked for it.
    public static readonly TheoryData<string, string> UnsupportedFeatures = new()
    {
        { "sequence_batching { max_sequence_idle_microseconds: 5000000 }", "config.pbtxt:2:1: sequence_batching: stateful models (sequence batching) are not supported by this server" },
        { "sequence_batching { }", "config.pbtxt:2:1: sequence_batching: stateful models (sequence batching) are not supported" },
        { "platform: 'ensemble'", "config.pbtxt:2:11: platform: ensemble models are not supported by this server" },
        { "ensemble_scheduling { step [ { model_name: 'a' model_version: -1 } ] }", "config.pbtxt:2:1: ensemble_scheduling: ensemble models are not supported by this server" },
        { "response_cache { enable: true }", "config.pbtxt:2:1: response_cache: the response cache is not supported by this server" },
        { "model_transaction_policy { decoupled: true }", "config.pbtxt:2:1: model_transaction_policy: decoupled models (any number of responses per request) are not supported" },
        { "batch_input { kind: BATCH_ELEMENT_COUNT target_name: 'N' data_type: TYPE_INT32 source_input: 'x' }", "batch_input: batch inputs and outputs (ragged batching) are not supported" },
        { "batch_output { target_name: 'y' kind: BATCH_SCATTER_WITH_INPUT_SHAPE source_input: 'x' }", "batch_output: batch inputs and outputs (ragged batching) are not supported" },
        { "model_repository_agents { agents [ { name: 'checksum' } ] }", "model_repository_agents: repository agents (such as checksum or decryption) are not supported" },
        { "model_operations { op_library_filename: 'libops.so' }", "model_operations: custom operation libraries are not supported" },
        { "runtime: 'model.py'", "config.pbtxt:2:10: runtime: runtime 'model.py' is not supported by this server" },
    };

    [Theory]
    [MemberData(nameof(UnsupportedFeatures))]
    public void Features_this_server_does_not_implement_fail_naming_the_feature(string field, string expected)
    {
        var e = Assert.Throws<ModelConfigException>(() => Read("name: 'm'\n" + field));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void The_default_runtime_of_the_backend_is_accepted()
    {
        Assert.Equal("onnxruntime", Config("backend: 'onnxruntime' runtime: 'libtriton_onnxruntime.so'").Backend);
    }

    [Fact]
    public void Unknown_fields_warn_with_location_and_the_closest_known_field()
    {
        var result = Read("""
            name: "m"
            max_batch: 8
            input {
              name: "x"
              data_type: TYPE_FP32
              dims: [ 1 ]
              shape: [ 1 ]
            }
            dynamic_batching { max_queue_delay_us: 5 }
            max_batchsize: 4
            instance_group { cuont: 2 }
            """);
        Assert.Equal(
            ["config.pbtxt:2:1: unknown field 'max_batch' was ignored (did you mean 'max_batch_size'?)",
             "config.pbtxt:7:3: unknown field 'input[0].shape' was ignored (did you mean 'reshape'?)",
             "config.pbtxt:9:20: unknown field 'dynamic_batching.max_queue_delay_us' was ignored",
             "config.pbtxt:10:1: unknown field 'max_batchsize' was ignored (did you mean 'max_batch_size'?)",
             "config.pbtxt:11:18: unknown field 'instance_group[0].cuont' was ignored (did you mean 'count'?)"],
            result.Warnings.Select(w => w.ToString()));
        Assert.All(result.Warnings, w => Assert.True(w.IsUnknownField));
        Assert.Equal(["max_batch_size", "reshape", null, "max_batch_size", "count"], result.Warnings.Select(w => w.Suggestion));
        Assert.Equal(0, result.Config.MaxBatchSize);
        Assert.Equal(result.Warnings, result.UnknownFields);
    }

    [Fact]
    public void Unknown_fields_are_suggested_from_the_message_they_are_in()
    {
        var result = Read("""
            dynamic_batching { default_queue_policy { max_queue: 4 } }
            parameters { key: "a" valeu { string_value: "1" } }
            model_warmup { name: "w" batch_sise: 1 }
            """);
        Assert.Equal(
            [("dynamic_batching.default_queue_policy.max_queue", "max_queue_size"), ("parameters[0].valeu", "value"), ("model_warmup[0].batch_sise", "batch_size")],
            result.Warnings.Select(w => (w.FieldPath, w.Suggestion)));
        Assert.Equal("", result.Config.Parameters["a"].StringValue);
    }

    [Fact]
    public void Every_part_of_the_schema_is_read_by_its_descriptor()
    {
        // model_metrics is not acted on (a warning says so), but it is read like any field: nested messages, a
        // oneof, a repeated double with an integer and inf among them.
        var result = Read("""
            model_metrics {
              metric_control [
                { metric_identifier { family: "nv_inference_request_duration_us" } histogram_options { buckets: [ 0.5, 1, inf ] } }
              ]
            }
            """);
        var control = Assert.Single(result.Config.ModelMetrics.MetricControl);
        Assert.Equal("nv_inference_request_duration_us", control.MetricIdentifier.Family);
        Assert.Equal([0.5, 1, double.PositiveInfinity], control.HistogramOptions.Buckets);
        Assert.Equal("model_metrics", Assert.Single(result.Warnings).FieldPath);
    }

    [Fact]
    public void A_failure_after_an_unknown_field_ends_with_it()
    {
        // The misspelt max_batch_size leaves max_batch_size 0, so the preferred batch size is what fails.
        var e = Assert.Throws<ModelConfigException>(() => Read("""
            max_batchsize: 8
            dynamic_batching { preferred_batch_size: 4 }
            """));
        Assert.Equal(
            "config.pbtxt:2:42: dynamic_batching.preferred_batch_size: preferred batch size 4 is larger than max_batch_size 0; "
            + "note: config.pbtxt:1:1: unknown field 'max_batchsize' was ignored (did you mean 'max_batch_size'?)",
            e.Message);
        Assert.Equal("max_batchsize", Assert.Single(e.UnknownFields).FieldPath);
    }

    [Fact]
    public void The_note_of_unknown_fields_is_appended_to_any_reason()
    {
        var unknown = Read("max_batchsize: 8\ninput { name: 'x' data_type: TYPE_FP32 dmis: 4 dims: 4 }").UnknownFields;
        Assert.Equal(
            "version 1: shape mismatch; note: config.pbtxt:1:1: unknown field 'max_batchsize' was ignored (did you mean 'max_batch_size'?); "
            + "config.pbtxt:2:40: unknown field 'input[0].dmis' was ignored (did you mean 'dims'?)",
            ModelConfigWarning.AppendUnknownFields("version 1: shape mismatch", unknown));
        Assert.Equal("unchanged", ModelConfigWarning.AppendUnknownFields("unchanged", []));
        Assert.Equal(
            "config.pbtxt:1:1: unknown field 'max_batchsize' (did you mean 'max_batch_size'?); config.pbtxt:2:40: unknown field 'input[0].dmis' (did you mean 'dims'?); strict",
            ModelConfigWarning.UnknownFieldsError(unknown, "strict"));
    }

    [Fact]
    public void Unknown_field_given_many_times_warns_once()
    {
        Assert.Single(Read("foo: 1 foo: 2 foo { }").Warnings);
    }

    [Fact]
    public void Fields_of_the_other_tensor_direction_are_unknown()
    {
        var result = Read("""
            input { name: "x" data_type: TYPE_FP32 dims: 1 label_filename: "l.txt" }
            output { name: "y" data_type: TYPE_FP32 dims: 1 optional: true format: FORMAT_NCHW }
            """);
        Assert.Equal(["input[0].label_filename", "output[0].optional", "output[0].format"], result.Warnings.Select(w => w.FieldPath));
    }

    [Fact]
    public void Shape_tensor_and_ragged_flags_warn_only_when_set()
    {
        var result = Read("input { name: 'x' data_type: TYPE_INT32 dims: 1 is_shape_tensor: true allow_ragged_batch: true }");
        Assert.Equal(["input[0].is_shape_tensor", "input[0].allow_ragged_batch"], result.Warnings.Select(w => w.FieldPath));
    }

    [Fact]
    public void Unsupported_instance_group_fields_warn()
    {
        var result = Read("instance_group { kind: KIND_CPU passive: true rate_limiter { } host_policy: 'numa0' }");
        Assert.Equal(
            ["instance_group[0].passive", "instance_group[0].host_policy"],
            result.Warnings.Select(w => w.FieldPath));
    }

    [Fact]
    public void Enum_bool_and_numeric_literal_forms_are_accepted()
    {
        var config = Config("""
            max_batch_size: 0x10
            input { name: 'x' data_type: TYPE_FP32 dims: [ 010 ] optional: t }
            dynamic_batching { preserve_ordering: 1 default_queue_policy { timeout_action: 1 allow_timeout_override: True } }
            instance_group { kind: 2 }
            """);
        Assert.Equal(16, config.MaxBatchSize);
        Assert.Equal([8L], config.Input[0].Dims);
        Assert.True(config.Input[0].Optional);
        Assert.True(config.DynamicBatching.PreserveOrdering);
        Assert.Equal(ModelQueuePolicy.Types.TimeoutAction.Delay, config.DynamicBatching.DefaultQueuePolicy.TimeoutAction);
        Assert.True(config.DynamicBatching.DefaultQueuePolicy.AllowTimeoutOverride);
        Assert.Equal(InstanceKind.Cpu, config.InstanceGroup[0].Kind.ToInstanceKind());
    }

    [Fact]
    public void Escaped_and_concatenated_strings_reach_the_config()
    {
        var config = Config("name: 'my' \"_model\"\nparameters { key: 'path' value { string_value: \"C:\\\\models\\tx\" } }");
        Assert.Equal("my_model", config.Name);
        Assert.Equal("C:\\models\tx", config.Parameters["path"].StringValue);
    }

    [Fact]
    public void Reads_a_file_and_names_it_by_model_folder_in_messages()
    {
        var directory = Directory.CreateTempSubdirectory("config-reader-");
        try
        {
            // Messages reach clients (repository index, load API): the model folder and file, never the server's path.
            var path = Path.Combine(directory.FullName, "config.pbtxt");
            var shown = directory.Name + "/config.pbtxt";
            File.WriteAllText(path, "name: \"m\"\nbogus: 1\n" + MinimalIo);
            var result = ModelConfigReader.ReadFile(path);
            Assert.Equal("m", result.Config.Name);
            Assert.Equal(shown, Assert.Single(result.Warnings).FileName);

            File.WriteAllText(path, "name: 5");
            var e = Assert.Throws<ModelConfigException>(() => ModelConfigReader.ReadFile(path));
            Assert.StartsWith(shown + ":1:7: name:", e.Message);
            Assert.DoesNotContain(directory.FullName, e.Message);
            Assert.StartsWith("given/config.pbtxt:1:7", Assert.Throws<ModelConfigException>(() => ModelConfigReader.ReadFile(path, "given/config.pbtxt")).Message);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Reads_a_file_asynchronously()
    {
        var directory = Directory.CreateTempSubdirectory("config-reader-");
        try
        {
            var path = Path.Combine(directory.FullName, "config.pbtxt");
            await File.WriteAllTextAsync(path, "name: \"m\"\n" + MinimalIo);
            var result = await ModelConfigReader.ReadFileAsync(path);
            Assert.Equal("IN", result.Config.Input[0].Name);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
