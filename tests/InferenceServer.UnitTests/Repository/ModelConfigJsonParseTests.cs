using System.Text;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Tensors;
using DataType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.UnitTests.Repository;

/// <summary>A model config in JSON (the repository API's config parameter) reads like the same config.pbtxt.</summary>
public sealed class ModelConfigJsonParseTests
{
    private static string Canonical(ModelConfig config) => Encoding.UTF8.GetString(ModelConfigJson.ToUtf8Bytes(config));

    [Theory]
    [InlineData(nameof(ModelConfigExampleTests.Simple))]
    [InlineData(nameof(ModelConfigExampleTests.Classifier))]
    public void What_the_config_endpoint_writes_reads_back_as_the_same_config(string example)
    {
        var text = example == nameof(ModelConfigExampleTests.Simple) ? ModelConfigExampleTests.Simple : ModelConfigExampleTests.Classifier;
        var config = ModelConfigReader.Parse(text).Config;
        var json = Canonical(config);

        var read = ModelConfigJson.Parse(json).Config;

        Assert.Equal(json, Canonical(read));
        Assert.Equal(config, read);
    }

    [Fact]
    public void Protobuf_json_spellings_are_accepted()
    {
        // lowerCamelCase names, 64-bit integers and enums as strings, maps as objects, null as "not given".
        const string json = """
            {
              "name": "m", "backend": "onnxruntime", "maxBatchSize": 8, "platform": null,
              "input": [{"name": "X", "dataType": "TYPE_FP32", "dims": ["3", "-1"], "reshape": {"shape": [3, "-1"]}}],
              "output": [{"name": "Y", "data_type": 11, "dims": [2]}],
              "versionPolicy": {"specific": {"versions": ["1", 3]}},
              "instanceGroup": [{"count": 2, "kind": "KIND_CPU"}],
              "dynamicBatching": {
                "maxQueueDelayMicroseconds": "500", "priorityLevels": 2, "defaultPriorityLevel": 1,
                "priorityQueuePolicy": {"2": {"timeoutAction": "DELAY", "maxQueueSize": 4}}
              },
              "parameters": {"intra_op_thread_count": {"string_value": "1"}},
              "modelWarmup": [{"name": "w", "batchSize": 2, "count": 3,
                               "inputs": {"X": {"dataType": "TYPE_FP32", "dims": [3, 4], "zeroData": true}}}]
            }
            """;

        var result = ModelConfigJson.Parse(json);
        var config = result.Config;

        Assert.Empty(result.Warnings);
        Assert.Equal("", config.Platform);
        Assert.Equal(8, config.MaxBatchSize);
        Assert.Equal([3L, -1L], config.Input[0].Dims);
        Assert.Equal([3L, -1L], config.Input[0].Reshape.Shape);
        Assert.Equal(DataType.Fp32, config.Output[0].ElementType());
        Assert.Equal(ModelVersionPolicy.PolicyChoiceOneofCase.Specific, config.VersionPolicy.PolicyChoiceCase);
        Assert.Equal([1L, 3L], config.VersionPolicy.Specific.Versions);
        Assert.Equal(2, config.InstanceGroup[0].Count);
        Assert.Equal(500UL, config.DynamicBatching.MaxQueueDelayMicroseconds);
        Assert.Equal(ModelQueuePolicy.Types.TimeoutAction.Delay, config.DynamicBatching.PriorityQueuePolicy[2].TimeoutAction);
        Assert.Equal(4U, config.DynamicBatching.PriorityQueuePolicy[2].MaxQueueSize);
        Assert.Equal("1", config.Parameters["intra_op_thread_count"].StringValue);
        var warmup = Assert.Single(config.ModelWarmup);
        Assert.Equal((2U, 3U), (warmup.BatchSize, warmup.Count));
        Assert.Equal(ModelWarmup.Types.Input.InputDataTypeOneofCase.ZeroData, warmup.Inputs["X"].InputDataTypeCase);
    }

    [Theory]
    [InlineData("""{"max_batch_size": "many"}""", "max_batch_size", "integer")]
    [InlineData("""{"max_batch_size": 1.5}""", "max_batch_size", "integer")]
    [InlineData("""{"input": [{"name": "X", "data_type": "TYPE_NOPE", "dims": [1]}]}""", "input[0].data_type", "TYPE_NOPE")]
    [InlineData("""{"name": ["a"]}""", "name", "not a repeated field")]
    [InlineData("""{"dynamic_batching": 5}""", "dynamic_batching", "message")]
    public void Wrong_values_are_reported_with_their_field_and_position(string json, string field, string reason)
    {
        var error = Assert.Throws<ModelConfigException>(() => ModelConfigJson.Parse(json, "load parameter 'config'"));
        Assert.Equal("load parameter 'config'", error.FileName);
        Assert.Equal(field, error.FieldPath);
        Assert.Contains(reason, error.Message);
        Assert.Equal(1, error.Line);
        Assert.True(error.Column > 1);
    }

    [Theory]
    [InlineData("""{"input": [{"name": "X", "data_type": "TYPE_FP32", "dims": [1]}, {"name": "Y", "data_type": 99, "dims": [1]}]}""", "input[1].data_type", "unknown data type number 99")]
    [InlineData("""{"dynamic_batching": {"default_queue_policy": {"max_queue_size": 3000000000}}}""", "dynamic_batching.default_queue_policy.max_queue_size", "must be at most 2147483647")]
    [InlineData("""{"version_policy": {"latest": {"num_versions": 1}, "all": {}}}""", "version_policy.all", "cannot be given together with 'latest'")]
    [InlineData("""{"input": [{"name": "X", "data_type": "TYPE_FP32", "dims": [3, 0]}]}""", "input[0].dims[1]", "dimension must be >= 1")]
    [InlineData("""{"input": [{"name": "X", "dims": [1]}]}""", "input[0].data_type", "must specify 'data_type'")]
    [InlineData("""{"parameters": {"p": {"string_value": 5}}}""", "parameters[0].value.string_value", "expected a quoted string, found 5")]
    [InlineData("""{"input": {"name": "X"}}""", "input", "is a repeated field")]
    public void Errors_anywhere_name_the_field_and_where_it_is(string json, string field, string reason)
    {
        var error = Assert.Throws<ModelConfigException>(() => ModelConfigJson.Parse(json, "load parameter 'config'"));
        Assert.Equal(field, error.FieldPath);
        Assert.Contains(reason, error.Reason);
        Assert.Equal(1, error.Line);
        Assert.True(error.Column > 1, $"column {error.Column}");
    }

    [Fact]
    public void Positions_count_lines_and_columns_of_the_json()
    {
        var error = Assert.Throws<ModelConfigException>(() => ModelConfigJson.Parse("{\n  \"input\": [\n    {\"name\": \"X\", \"dims\": [1], \"data_type\": \"NOPE\"}\n  ]\n}", "c"));
        Assert.Equal((3, 45, "input[0].data_type"), (error.Line, error.Column, error.FieldPath));
    }

    [Fact]
    public void Nested_unknown_fields_are_warnings_with_the_closest_field_of_their_message()
    {
        var result = ModelConfigJson.Parse("""{"input": [{"name": "X", "dataType": "TYPE_FP32", "dims": [1], "dmis": [2]}], "dynamicBatching": {"maxQueueDelay": 5}}""");
        Assert.Equal(
            [("input[0].dmis", "dims"), ("dynamic_batching.max_queue_delay", "max_queue_delay_microseconds")],
            result.Warnings.Select(w => (w.FieldPath, w.Suggestion)));
        Assert.Equal([1L], result.Config.Input[0].Dims);
        Assert.Equal(0UL, result.Config.DynamicBatching.MaxQueueDelayMicroseconds);
    }

    [Theory]
    [InlineData("[]", "must be an object")]
    [InlineData("{\"name\": ", "malformed JSON")]
    [InlineData("{} {}", "malformed JSON")]
    public void Text_that_is_not_one_json_object_is_refused(string json, string reason)
    {
        var error = Assert.Throws<ModelConfigException>(() => ModelConfigJson.Parse(json));
        Assert.Contains(reason, error.Message);
    }

    // Utf8JsonReader checks a string's text only when it decodes it, and reports an unpaired surrogate escape as
    // InvalidOperationException: a load whose config override held one (the upload fuzz target's "\ud800") was a 500.
    [Theory]
    [InlineData("""{"name": "m", "input": [{"name": "X\ud800", "dims": [1]}]}""", 1, 34, "input[0].name", "has a string that is not valid UTF-8")]
    [InlineData("""{"name": "m", "parameters": {"k": {"string_value": "\uDBFF\uDBFF"}}}""", 1, 52, "parameters[0].value.string_value", "has a string that is not valid UTF-8")]
    [InlineData("""{"name": "m", "\udc00": 1}""", 1, 15, null, "a field name is not valid UTF-8")]
    [InlineData("""{"name": "m", "parameters": {"\ud83d": {"string_value": "1"}}}""", 1, 30, null, "'parameters[0].key' is not valid UTF-8")]
    public void A_string_that_is_not_utf8_is_refused_at_its_field(string json, int line, int column, string? field, string reason)
    {
        var error = Assert.Throws<ModelConfigException>(() => ModelConfigJson.Parse(json, "load parameter 'config'"));
        Assert.Equal((line, column, field), (error.Line, error.Column, error.FieldPath));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_fields_are_warnings_as_in_config_pbtxt()
    {
        var result = ModelConfigJson.Parse("""{"name": "m", "maxBatchsize": 4, "whatever": 1}""", "load parameter 'config'");
        Assert.Equal(
            ["load parameter 'config':1:15: unknown field 'max_batchsize' was ignored (did you mean 'max_batch_size'?)",
             "load parameter 'config':1:34: unknown field 'whatever' was ignored"],
            result.Warnings.Select(w => w.ToString()));
        Assert.Equal(result.Warnings, result.UnknownFields);
    }

    [Theory]
    [InlineData("""{"name": "m", "sequenceBatching": {}}""", "sequence_batching: stateful models (sequence batching) are not supported by this server")]
    [InlineData("""{"name": "m", "responseCache": {"enable": true}}""", "response_cache: the response cache is not supported by this server")]
    [InlineData("""{"name": "m", "model_transaction_policy": {"decoupled": true}}""", "decoupled models")]
    [InlineData("""{"name": "m", "platform": "ensemble", "ensembleScheduling": {"step": []}}""", "platform: ensemble models are not supported by this server")]
    public void Unsupported_features_fail_as_in_config_pbtxt(string json, string expected)
    {
        var e = Assert.Throws<ModelConfigException>(() => ModelConfigJson.Parse(json));
        Assert.Contains(expected, e.Message);
    }
}
