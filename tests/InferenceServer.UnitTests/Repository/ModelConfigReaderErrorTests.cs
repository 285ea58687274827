using InferenceServer.Core.Repository;

namespace InferenceServer.UnitTests.Repository;

public sealed class ModelConfigReaderErrorTests
{
    private static ModelConfigException Fails(string text) =>
        Assert.Throws<ModelConfigException>(() => ModelConfigReader.Parse(text, "models/m/config.pbtxt"));

    private static void AssertError(string text, int line, int column, string? fieldPath, string reasonPart)
    {
        var e = Fails(text);
        Assert.Equal("models/m/config.pbtxt", e.FileName);
        Assert.Equal((line, column, fieldPath), (e.Line, e.Column, e.FieldPath));
        Assert.Contains(reasonPart, e.Reason);
        Assert.StartsWith($"models/m/config.pbtxt:{line}:{column}: ", e.Message);
    }

    private static void AssertRejected(string text, string path, string reasonPart)
    {
        var e = Fails(text);
        Assert.Equal(path, e.FieldPath);
        Assert.Contains(reasonPart, e.Reason);
    }

    [Fact]
    public void Syntax_errors_become_config_exceptions_with_position()
    {
        var e = Fails("name: \"m\"\ninput {\n  name: \"x\n}");
        Assert.Equal((3, 9, null), (e.Line, e.Column, e.FieldPath));
        Assert.Equal("models/m/config.pbtxt:3:9: unterminated string", e.Message);
    }

    [Fact]
    public void Missing_brace_is_a_syntax_error()
    {
        var e = Fails("input {\n  name: 'x'\n  data_type: TYPE_FP32\n");
        Assert.Equal((4, 1), (e.Line, e.Column));
        Assert.Contains("expected '}' to close 'input'", e.Reason);
    }

    [Fact]
    public void Bad_enum_names_the_field_path_and_the_choices()
    {
        var e = Fails("""
            input { name: "a" data_type: TYPE_FP32 dims: 1 }
            input {
              name: "b"
              data_type: TYPE_FLOAT
              dims: 1
            }
            """);
        Assert.Equal((4, 14, "input[1].data_type"), (e.Line, e.Column, e.FieldPath));
        Assert.Equal("unknown data type 'TYPE_FLOAT'; expected one of TYPE_INVALID, TYPE_BOOL, TYPE_UINT8, TYPE_UINT16, TYPE_UINT32, TYPE_UINT64, TYPE_INT8, TYPE_INT16, TYPE_INT32, TYPE_INT64, TYPE_FP16, TYPE_FP32, TYPE_FP64, TYPE_STRING, TYPE_BF16", e.Reason);
        Assert.StartsWith("models/m/config.pbtxt:4:14: input[1].data_type: unknown data type", e.Message);
    }

    [Theory]
    [InlineData("instance_group { kind: KIND_TPU }", "instance_group[0].kind", "unknown kind 'KIND_TPU'; expected one of KIND_AUTO, KIND_GPU, KIND_CPU, KIND_MODEL")]
    [InlineData("input { name: 'x' data_type: TYPE_FP32 dims: [1,2,3] format: FORMAT_NDHWC }", "input[0].format", "unknown format 'FORMAT_NDHWC'")]
    [InlineData("optimization { priority: PRIORITY_HIGH }", "optimization.priority", "unknown priority 'PRIORITY_HIGH'")]
    [InlineData("dynamic_batching { default_queue_policy { timeout_action: DROP } }", "dynamic_batching.default_queue_policy.timeout_action", "unknown timeout action 'DROP'")]
    [InlineData("input { name: 'x' data_type: 99 dims: 1 }", "input[0].data_type", "unknown data type number 99")]
    [InlineData("input { name: 'x' data_type: TYPE_INVALID dims: 1 }", "input[0].data_type", "TYPE_INVALID is not a usable data type")]
    [InlineData("input { name: 'x' data_type: \"TYPE_FP32\" dims: 1 }", "input[0].data_type", "without quotes")]
    public void Rejects_bad_enum_values(string text, string path, string reasonPart) =>
        AssertRejected(text, path, reasonPart);

    [Theory]
    [InlineData("name: simple", "name", "expected a quoted string, found 'simple'")]
    [InlineData("name: 5", "name", "expected a quoted string, found 5")]
    [InlineData("max_batch_size: \"8\"", "max_batch_size", "expected an integer, found the string \"8\"")]
    [InlineData("max_batch_size: 8.0", "max_batch_size", "expected an integer, found 8.0")]
    [InlineData("max_batch_size: { }", "max_batch_size", "expected an integer, found a message")]
    [InlineData("max_batch_size: 3000000000", "max_batch_size", "must be at most 2147483647, got 3000000000")]
    [InlineData("max_batch_size: 99999999999999999999", "max_batch_size", "out of range")]
    [InlineData("input { name: 'x' data_type: TYPE_FP32 dims: 1 optional: yes }", "input[0].optional", "expected true or false, found 'yes'")]
    [InlineData("input { name: { } }", "input[0].name", "expected a quoted string, found a message")]
    [InlineData("input: 5", "input[0]", "expected a message")]
    [InlineData("dynamic_batching: true", "dynamic_batching", "expected a message")]
    [InlineData("version_policy { latest: 1 }", "version_policy.latest", "expected a message")]
    [InlineData("sequence_batching: 1", "sequence_batching", "expected a message")]
    [InlineData("runtime { }", "runtime", "expected a quoted string, found a message")]
    [InlineData("parameters { key: 'a' value: 'b' }", "parameters[0].value", "expected a message")]
    [InlineData("parameters { key: 7 value { string_value: 'b' } }", "parameters[0].key", "expected a quoted string")]
    public void Rejects_wrong_value_types(string text, string path, string reasonPart) =>
        AssertRejected(text, path, reasonPart);

    [Theory]
    [InlineData("max_batch_size: -1", "max_batch_size", "must not be negative, got -1")]
    [InlineData("instance_group { count: -2 }", "instance_group[0].count", "must not be negative")]
    [InlineData("instance_group { kind: KIND_GPU gpus: [0, -1] }", "instance_group[0].gpus[1]", "must not be negative")]
    [InlineData("dynamic_batching { max_queue_delay_microseconds: -5 }", "dynamic_batching.max_queue_delay_microseconds", "must not be negative")]
    [InlineData("dynamic_batching { preferred_batch_size: 0 }", "dynamic_batching.preferred_batch_size[0]", "must be at least 1, got 0")]
    [InlineData("dynamic_batching { default_queue_policy { max_queue_size: -1 } }", "dynamic_batching.default_queue_policy.max_queue_size", "must not be negative")]
    [InlineData("model_warmup { batch_size: 0 }", "model_warmup[0].batch_size", "must be at least 1")]
    [InlineData("model_warmup { count: -1 }", "model_warmup[0].count", "must not be negative")]
    [InlineData("version_policy { latest { num_versions: -1 } }", "version_policy.latest.num_versions", "must not be negative")]
    [InlineData("version_policy { specific { versions: [1, -3] } }", "version_policy.specific.versions[1]", "must not be negative")]
    public void Rejects_negative_counts(string text, string path, string reasonPart) =>
        AssertRejected(text, path, reasonPart);

    [Theory]
    [InlineData("dynamic_batching { default_queue_policy { max_queue_size: 3000000000 } }", "dynamic_batching.default_queue_policy.max_queue_size", "must be at most 2147483647, got 3000000000")]
    [InlineData("dynamic_batching { max_queue_delay_microseconds: 18446744073709551615 }", "dynamic_batching.max_queue_delay_microseconds", "out of range")]
    [InlineData("dynamic_batching { priority_levels: 3000000000 }", "dynamic_batching.priority_levels", "must be at most 2147483647")]
    [InlineData("model_warmup { count: 4294967296 }", "model_warmup[0].count", "must be at most 4294967295")]
    public void Rejects_unsigned_values_past_what_the_server_counts_with(string text, string path, string reasonPart) =>
        AssertRejected(text, path, reasonPart);

    [Theory]
    [InlineData("model_metrics { metric_control { histogram_options { buckets: 'x' } } }", "model_metrics.metric_control[0].histogram_options.buckets[0]", "expected a number, found the string \"x\"")]
    [InlineData("parameters { key: 'a' value { string_value: 'b' } key: 'c' }", "parameters[0].key", "is given more than once")]
    public void Rejects_wrong_values_anywhere_in_the_schema(string text, string path, string reasonPart) =>
        AssertRejected(text, path, reasonPart);

    [Fact]
    public void Rejects_dims_of_zero_or_below_minus_one()
    {
        AssertError("input {\n  name: 'x'\n  data_type: TYPE_FP32\n  dims: [ 3, 0 ]\n}", 4, 14, "input[0].dims[1]", "dimension must be >= 1, or -1");
        AssertError("output { name: 'y' data_type: TYPE_FP32 dims: -2 }", 1, 47, "output[0].dims[0]", "got -2");
        AssertError("input { name: 'x' data_type: TYPE_FP32 dims: 2 reshape { shape: [ 0 ] } }", 1, 67, "input[0].reshape.shape[0]", "dimension must be >= 1");
    }

    [Fact]
    public void Rejects_missing_tensor_essentials()
    {
        AssertError("input { data_type: TYPE_FP32 dims: 1 }", 1, 1, "input[0].name", "non-empty 'name'");
        AssertError("output { name: '' data_type: TYPE_FP32 dims: 1 }", 1, 10, "output[0].name", "non-empty 'name'");
        AssertError("input { name: 'x' dims: 1 }", 1, 1, "input[0].data_type", "must specify 'data_type'");
        AssertError("input { name: 'x' data_type: TYPE_FP32 }", 1, 1, "input[0].dims", "must specify 'dims'");
        AssertError("input { name: 'x' data_type: TYPE_FP32 dims: [] }", 1, 1, "input[0].dims", "must specify 'dims'");
    }

    [Fact]
    public void Rejects_duplicate_tensor_names()
    {
        AssertError("""
            input { name: "a" data_type: TYPE_FP32 dims: 1 }
            input { name: "b" data_type: TYPE_FP32 dims: 1 }
            input { name: "a" data_type: TYPE_FP32 dims: 1 }
            """, 3, 9, "input[2].name", "duplicate input name 'a' (also input[0])");
        AssertError("""
            output { name: "y" data_type: TYPE_FP32 dims: 1 }
            output { name: "y" data_type: TYPE_INT32 dims: 1 }
            """, 2, 10, "output[1].name", "duplicate output name 'y'");
    }

    [Fact]
    public void Same_name_for_an_input_and_an_output_is_allowed()
    {
        var result = ModelConfigReader.Parse("input { name: 'x' data_type: TYPE_FP32 dims: 1 } output { name: 'x' data_type: TYPE_FP32 dims: 1 }");
        Assert.Equal("x", result.Config.Output[0].Name);
    }

    [Fact]
    public void Rejects_reshape_with_a_different_element_count()
    {
        AssertError("input {\n  name: 'x' data_type: TYPE_FP32 dims: [ 2, 3 ]\n  reshape { shape: [ 7 ] }\n}", 3, 3, "input[0].reshape", "reshape [7] has 7 elements but dims [2,3] has 6");
    }

    [Fact]
    public void Rejects_empty_reshape_without_batching()
    {
        AssertError("input { name: 'x' data_type: TYPE_FP32 dims: [1] reshape { } }", 1, 50, "input[0].reshape", "max_batch_size 0");
    }

    [Fact]
    public void Rejects_image_format_without_three_dims()
    {
        AssertError("input { name: 'x' data_type: TYPE_FP32 format: FORMAT_NCHW dims: [ 3, 224 ] }", 1, 48, "input[0].format", "needs exactly 3 dims");
    }

    [Fact]
    public void Rejects_shapes_whose_element_count_overflows()
    {
        var e = Fails("input { name: 'x' data_type: TYPE_FP32 dims: [ 4294967296, 4294967296 ] }");
        Assert.Equal("input[0].dims", e.FieldPath);
        Assert.Contains("64 bits", e.Reason);
    }

    [Fact]
    public void Rejects_singular_fields_given_twice_or_as_lists()
    {
        AssertError("name: 'a'\nname: 'b'", 2, 1, "name", "is given more than once");
        AssertError("max_batch_size: [ 8 ]", 1, 1, "max_batch_size", "is not a repeated field");
        AssertError("input { name: 'x' name: 'y' }", 1, 19, "input[0].name", "is given more than once");
        AssertError("dynamic_batching { }\ndynamic_batching { }", 2, 1, "dynamic_batching", "is given more than once");
    }

    [Fact]
    public void Rejects_more_than_one_member_of_a_oneof()
    {
        AssertError("version_policy { latest { num_versions: 1 } all { } }", 1, 45, "version_policy.all", "cannot be given together with 'latest'");
        AssertError("dynamic_batching { }\nsequence_batching { }", 2, 1, "sequence_batching", "cannot be given together with 'dynamic_batching'");
        AssertError(
            "model_warmup { inputs { key: 'x' value { data_type: TYPE_FP32 dims: 1 zero_data: true random_data: true } } }",
            1, 87, "model_warmup[0].inputs[0].value.random_data", "cannot be given together with 'zero_data'");
    }

    [Fact]
    public void Rejects_version_policies_that_serve_nothing()
    {
        AssertError("version_policy { latest { } }", 1, 18, "version_policy.latest.num_versions", "at least 1");
        AssertError("version_policy { latest { num_versions: 0 } }", 1, 41, "version_policy.latest.num_versions", "at least 1");
        AssertError("version_policy { specific { } }", 1, 18, "version_policy.specific.versions", "at least one version");
    }

    [Fact]
    public void Rejects_gpus_on_cpu_groups()
    {
        AssertError("instance_group { kind: KIND_CPU gpus: [ 0 ] }", 1, 33, "instance_group[0].gpus", "cannot be given for KIND_CPU");
    }

    [Fact]
    public void Rejects_inconsistent_priority_levels()
    {
        AssertError("dynamic_batching { default_priority_level: 2 }", 1, 44, "dynamic_batching.default_priority_level", "must be 0 when priority_levels is 0");
        AssertError("dynamic_batching { priority_levels: 3 default_priority_level: 4 }", 1, 39, "dynamic_batching.default_priority_level", "between 1 and priority_levels (3), got 4");
        AssertError("dynamic_batching { priority_levels: 3 }", 1, 1, "dynamic_batching.default_priority_level", "got 0");
        AssertError(
            "dynamic_batching {\n  priority_levels: 2 default_priority_level: 1\n  priority_queue_policy { key: 5 value { } }\n}",
            3, 32, "dynamic_batching.priority_queue_policy[0].key", "between 1 and priority_levels (2), got 5");
        AssertError(
            "dynamic_batching { priority_levels: 2 default_priority_level: 1 priority_queue_policy { key: 1 } priority_queue_policy { key: 1 } }",
            1, 122, "dynamic_batching.priority_queue_policy[1].key", "priority level 1 is given more than once");
    }

    [Fact]
    public void Rejects_preferred_batch_size_above_max_batch_size()
    {
        AssertError("dynamic_batching { preferred_batch_size: [ 4, 16 ] }\nmax_batch_size: 8", 1, 47, "dynamic_batching.preferred_batch_size", "16 is larger than max_batch_size 8");
    }

    [Fact]
    public void Rejects_bad_warmup_settings()
    {
        const string Inputs = "max_batch_size: 4\ninput { name: 'x' data_type: TYPE_FP32 dims: 2 }\n";
        AssertError(Inputs + "model_warmup { batch_size: 8 inputs { key: 'x' value { data_type: TYPE_FP32 dims: 2 zero_data: true } } }",
            3, 28, "model_warmup[0].batch_size", "larger than max_batch_size 4");
        AssertError(Inputs + "model_warmup { inputs { key: 'y' value { data_type: TYPE_FP32 dims: 2 zero_data: true } } }",
            3, 1, "model_warmup[0].inputs", "'y' is not an input of the model");
        AssertError(Inputs + "model_warmup { inputs { key: 'x' value { data_type: TYPE_FP32 dims: 2 } } }",
            3, 34, "model_warmup[0].inputs[0].value", "one of 'zero_data', 'random_data' or 'input_data_file'");
        AssertError(Inputs + "model_warmup { inputs { key: 'x' value { dims: 2 zero_data: true } } }",
            3, 34, "model_warmup[0].inputs[0].value.data_type", "must specify 'data_type'");
        AssertError(Inputs + "model_warmup { inputs { key: 'x' value { data_type: TYPE_FP32 dims: -1 zero_data: true } } }",
            3, 69, "model_warmup[0].inputs[0].value.dims[0]", "must not be negative");
        AssertError(Inputs + "model_warmup { inputs { value { data_type: TYPE_FP32 dims: 2 zero_data: true } } }",
            3, 16, "model_warmup[0].inputs[0].key", "non-empty 'key'");
        AssertError(Inputs + "model_warmup { inputs { key: 'x' } }",
            3, 16, "model_warmup[0].inputs[0].value", "must specify a value");
    }

    [Fact]
    public void Rejects_nameless_accelerators_and_empty_parameter_keys()
    {
        AssertError("optimization { execution_accelerators { gpu_execution_accelerator { parameters { key: 'a' value: 'b' } } } }",
            1, 41, "optimization.execution_accelerators.gpu_execution_accelerator[0].name", "non-empty 'name'");
        AssertError("parameters { key: '' value { string_value: 'x' } }", 1, 19, "parameters[0].key", "non-empty 'key'");
    }
}
