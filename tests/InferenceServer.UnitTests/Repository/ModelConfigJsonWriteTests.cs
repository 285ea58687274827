using System.Text.Json;
using InferenceServer.Core.Repository;

namespace InferenceServer.UnitTests.Repository;

public sealed class ModelConfigJsonWriteTests
{
    private static JsonElement Json(ModelConfig config, bool indented = false)
    {
        using var document = JsonDocument.Parse(ModelConfigJson.ToUtf8Bytes(config, indented));
        return document.RootElement.Clone();
    }

    private static long[] Numbers(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt64()).ToArray();

    [Fact]
    public void Writes_the_simple_model_in_Tritons_shape()
    {
        var json = Json(ModelConfigReader.Parse(ModelConfigExampleTests.Simple).Config);
        Assert.Equal("simple", json.GetProperty("name").GetString());
        Assert.Equal("onnxruntime_onnx", json.GetProperty("platform").GetString());
        Assert.Equal("", json.GetProperty("backend").GetString());
        Assert.Equal(1, json.GetProperty("version_policy").GetProperty("latest").GetProperty("num_versions").GetInt32());
        Assert.Equal(8, json.GetProperty("max_batch_size").GetInt32());

        var inputs = json.GetProperty("input").EnumerateArray().ToList();
        Assert.Equal(2, inputs.Count);
        var input = inputs[0];
        Assert.Equal("INPUT0", input.GetProperty("name").GetString());
        Assert.Equal("TYPE_INT32", input.GetProperty("data_type").GetString());
        Assert.Equal("FORMAT_NONE", input.GetProperty("format").GetString());
        Assert.Equal(JsonValueKind.Number, input.GetProperty("dims")[0].ValueKind);
        Assert.Equal([16L], Numbers(input.GetProperty("dims")));
        Assert.False(input.GetProperty("optional").GetBoolean());
        Assert.False(input.GetProperty("is_shape_tensor").GetBoolean());
        Assert.False(input.TryGetProperty("reshape", out _));

        var output = json.GetProperty("output")[1];
        Assert.Equal("OUTPUT1", output.GetProperty("name").GetString());
        Assert.Equal("", output.GetProperty("label_filename").GetString());
        Assert.False(output.TryGetProperty("format", out _));

        Assert.Equal(0, json.GetProperty("instance_group").GetArrayLength());
        Assert.False(json.TryGetProperty("dynamic_batching", out _));
        Assert.False(json.TryGetProperty("optimization", out _));
        Assert.Equal(JsonValueKind.Object, json.GetProperty("parameters").ValueKind);
        Assert.Equal(0, json.GetProperty("model_warmup").GetArrayLength());
        Assert.Equal("", json.GetProperty("default_model_filename").GetString());
    }

    [Fact]
    public void Writes_every_part_of_the_classifier()
    {
        var json = Json(ModelConfigReader.Parse(ModelConfigExampleTests.Classifier).Config, indented: true);
        Assert.Equal(2, json.GetProperty("version_policy").GetProperty("latest").GetProperty("num_versions").GetInt32());
        Assert.Equal("FORMAT_NCHW", json.GetProperty("input")[0].GetProperty("format").GetString());
        Assert.Equal([3L, 224, 224], Numbers(json.GetProperty("input")[0].GetProperty("dims")));
        Assert.Equal("imagenet_labels.txt", json.GetProperty("output")[0].GetProperty("label_filename").GetString());

        var group = json.GetProperty("instance_group")[0];
        Assert.Equal(("cpu", "KIND_CPU", 2), (group.GetProperty("name").GetString(), group.GetProperty("kind").GetString(), group.GetProperty("count").GetInt32()));
        Assert.Equal(0, group.GetProperty("gpus").GetArrayLength());

        var batching = json.GetProperty("dynamic_batching");
        Assert.Equal([8L, 16, 32], Numbers(batching.GetProperty("preferred_batch_size")));
        Assert.Equal(2000, batching.GetProperty("max_queue_delay_microseconds").GetInt64());
        Assert.False(batching.GetProperty("preserve_ordering").GetBoolean());
        Assert.Equal(2, batching.GetProperty("priority_levels").GetInt32());
        Assert.Equal(2, batching.GetProperty("default_priority_level").GetInt32());
        var defaultPolicy = batching.GetProperty("default_queue_policy");
        Assert.Equal("REJECT", defaultPolicy.GetProperty("timeout_action").GetString());
        Assert.Equal(0, defaultPolicy.GetProperty("default_timeout_microseconds").GetInt64());
        Assert.True(defaultPolicy.GetProperty("allow_timeout_override").GetBoolean());
        Assert.Equal(256, defaultPolicy.GetProperty("max_queue_size").GetInt32());
        var high = batching.GetProperty("priority_queue_policy").GetProperty("1");
        Assert.Equal("DELAY", high.GetProperty("timeout_action").GetString());
        Assert.Equal(50000, high.GetProperty("default_timeout_microseconds").GetInt64());

        var parameters = json.GetProperty("parameters");
        Assert.Equal("4", parameters.GetProperty("intra_op_thread_count").GetProperty("string_value").GetString());
        Assert.Equal("1", parameters.GetProperty("enable_mem_arena").GetProperty("string_value").GetString());

        var optimization = json.GetProperty("optimization");
        Assert.Equal(1, optimization.GetProperty("graph").GetProperty("level").GetInt32());
        Assert.Equal("PRIORITY_DEFAULT", optimization.GetProperty("priority").GetString());
        var accelerators = optimization.GetProperty("execution_accelerators");
        Assert.Equal(0, accelerators.GetProperty("gpu_execution_accelerator").GetArrayLength());
        Assert.Equal("openvino", accelerators.GetProperty("cpu_execution_accelerator")[0].GetProperty("name").GetString());

        var warmup = json.GetProperty("model_warmup")[0];
        Assert.Equal(("random_batch_8", 8, 2), (warmup.GetProperty("name").GetString(), warmup.GetProperty("batch_size").GetInt32(), warmup.GetProperty("count").GetInt32()));
        var warmupInput = warmup.GetProperty("inputs").GetProperty("input");
        Assert.Equal("TYPE_FP32", warmupInput.GetProperty("data_type").GetString());
        Assert.True(warmupInput.GetProperty("random_data").GetBoolean());
        Assert.False(warmupInput.TryGetProperty("zero_data", out _));
        Assert.Equal("model.onnx", json.GetProperty("default_model_filename").GetString());
    }

    [Fact]
    public void Writes_all_and_specific_version_policies()
    {
        var all = Json(new ModelConfig { Name = "m", VersionPolicy = new ModelVersionPolicy { All = new() } });
        var allPolicy = all.GetProperty("version_policy");
        Assert.Equal(JsonValueKind.Object, allPolicy.GetProperty("all").ValueKind);
        Assert.False(allPolicy.TryGetProperty("latest", out _));

        var specific = Json(ModelConfigReader.Parse("name: 'm' version_policy { specific { versions: [ 1, 3 ] } }").Config);
        Assert.Equal([1L, 3], Numbers(specific.GetProperty("version_policy").GetProperty("specific").GetProperty("versions")));
    }

    [Fact]
    public void Writes_reshape_strings_gpus_and_default_group_names()
    {
        var config = ModelConfigReader.Parse("""
            name: "m"
            max_batch_size: 4
            input { name: "t" data_type: TYPE_STRING dims: [ -1 ] reshape { } optional: true }
            instance_group [ { kind: KIND_GPU count: 2 gpus: [ 0, 1 ] }, { kind: KIND_AUTO } ]
            """).Config;
        // The loader names unnamed groups once the config has its model's name, as Triton does and reports.
        ModelConfigDefaults.NameInstanceGroups(config);
        var json = Json(config);
        var input = json.GetProperty("input")[0];
        Assert.Equal("TYPE_STRING", input.GetProperty("data_type").GetString());
        Assert.Equal([-1L], Numbers(input.GetProperty("dims")));
        Assert.Equal(0, input.GetProperty("reshape").GetProperty("shape").GetArrayLength());
        Assert.True(input.GetProperty("optional").GetBoolean());
        var groups = json.GetProperty("instance_group");
        Assert.Equal(("m_0", "KIND_GPU"), (groups[0].GetProperty("name").GetString(), groups[0].GetProperty("kind").GetString()));
        Assert.Equal([0L, 1], Numbers(groups[0].GetProperty("gpus")));
        Assert.Equal(("m_1", "KIND_AUTO"), (groups[1].GetProperty("name").GetString(), groups[1].GetProperty("kind").GetString()));
    }

    [Fact]
    public void Writes_accelerator_parameters_and_file_warmup()
    {
        var config = ModelConfigReader.Parse("""
            name: "m"
            optimization {
              priority: PRIORITY_MAX
              execution_accelerators { gpu_execution_accelerator [ { name: "tensorrt" parameters { key: "precision_mode" value: "FP16" } } ] }
            }
            model_warmup {
              name: "w"
              inputs { key: "a" value { data_type: TYPE_FP16 dims: [ 2 ] input_data_file: "a.bin" } }
              inputs { key: "b" value { data_type: TYPE_INT8 dims: [ 1 ] zero_data: true } }
            }
            """).Config;
        var json = Json(config);
        var optimization = json.GetProperty("optimization");
        Assert.Equal("PRIORITY_MAX", optimization.GetProperty("priority").GetString());
        Assert.False(optimization.TryGetProperty("graph", out _));
        var trt = optimization.GetProperty("execution_accelerators").GetProperty("gpu_execution_accelerator")[0];
        Assert.Equal("FP16", trt.GetProperty("parameters").GetProperty("precision_mode").GetString());
        var inputs = json.GetProperty("model_warmup")[0].GetProperty("inputs");
        Assert.Equal("a.bin", inputs.GetProperty("a").GetProperty("input_data_file").GetString());
        Assert.True(inputs.GetProperty("b").GetProperty("zero_data").GetBoolean());
    }

    [Fact]
    public void Escapes_strings_properly()
    {
        var config = new ModelConfig { Name = "quote\"and\\slash", Parameters = { ["k\"ey"] = new ModelParameter { StringValue = "line\nbreak" } } };
        var json = Json(config);
        Assert.Equal("quote\"and\\slash", json.GetProperty("name").GetString());
        Assert.Equal("line\nbreak", json.GetProperty("parameters").GetProperty("k\"ey").GetProperty("string_value").GetString());
    }

    [Fact]
    public void Writes_into_a_caller_supplied_writer()
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            ModelConfigJson.Write(writer, new ModelConfig { Name = "m" });
        }
        using var document = JsonDocument.Parse(stream.ToArray());
        Assert.Equal("m", document.RootElement.GetProperty("name").GetString());
    }
}
