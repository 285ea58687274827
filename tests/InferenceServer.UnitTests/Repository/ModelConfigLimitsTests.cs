using InferenceServer.Core.Repository;

namespace InferenceServer.UnitTests.Repository;

/// <summary>What a config may ask the server to spend, and which files it may name, checked before anything loads.</summary>
public sealed class ModelConfigLimitsTests
{
    private static readonly ModelConfigLimits Limits = new(MaxInstances: 4, MaxWarmupCount: 10, MaxWarmupBytes: 1024);

    private const string Io = """
        max_batch_size: 8
        input { name: "IN" data_type: TYPE_FP32 dims: [ 4 ] }
        output { name: "OUT" data_type: TYPE_FP32 dims: [ 4 ] }
        """;

    private static string Error(string text) =>
        Assert.Throws<ModelConfigException>(() => ModelConfigReader.Parse(Io + "\n" + text, "m/config.pbtxt", Limits)).Message;

    [Fact]
    public void Configs_within_the_limits_read()
    {
        ModelConfigReader.Parse(Io + """

            instance_group [ { count: 2 }, { count: 2 } ]
            model_warmup [ { name: "w" batch_size: 8 count: 10 inputs { key: "IN" value: { data_type: TYPE_FP32 dims: [ 32 ] zero_data: true } } } ]
            default_model_filename: "weights.onnx"
            """, "m/config.pbtxt", Limits);
    }

    [Theory]
    [InlineData("instance_group [ { count: 5 } ]", "m/config.pbtxt:4:27: instance_group[0].count: asks for 5 instances, more than the 4 a model may have (--model-max-instances)")]
    [InlineData("instance_group [ { count: 2147483647 } ]", "instance_group[0].count: asks for 2147483647 instances")]
    [InlineData("instance_group [ { count: 3 kind: KIND_GPU gpus: [ 0, 1 ] } ]", "instance_group[0].count: asks for 6 instances")]
    [InlineData("instance_group [ { count: 3 }, { count: 2 } ]", "instance_group: the groups ask for 5 instances together")]
    public void Instance_counts_past_the_limit_are_refused(string groups, string expected) => Assert.Contains(expected, Error(groups));

    [Theory]
    [InlineData("count: 11", "dims: [ 4 ]", "model_warmup[0].count: 11 runs are more than the 10 a warm-up sample may ask for (--model-warmup-max-count)")]
    [InlineData("batch_size: 8", "dims: [ 33 ]", "model_warmup[0].inputs[0].value.dims: dims [33] with batch_size 8 make 1056 bytes of TYPE_FP32 data, more than the 1024 bytes")]
    [InlineData("", "dims: [ 4294967296, 4294967296, 4294967296 ]", "model_warmup[0].inputs[0].value.dims: dims [4294967296,4294967296,4294967296] with batch_size 1 make 3.169E+29 bytes")]
    public void Warmups_past_the_limits_are_refused(string sample, string dims, string expected)
    {
        var error = Error($$$$"""model_warmup [ { name: "w" {{{{sample}}}} inputs { key: "IN" value: { data_type: TYPE_FP32 {{{{dims}}}} zero_data: true } } } ]""");
        Assert.True(error.Contains(expected, StringComparison.Ordinal), error);
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("../../elsewhere/model.onnx")]
    [InlineData("1/model.onnx")]
    [InlineData("..")]
    [InlineData("a\\\\b")]
    public void A_model_file_name_that_is_a_path_is_refused(string name) =>
        Assert.Contains("default_model_filename", Error($"default_model_filename: \"{name}\""));

    [Fact]
    public void A_warmup_data_file_that_is_a_path_is_refused() =>
        Assert.Contains("input_data_file: '../../secret' must be a file name in the folder, not a path",
            Error("""model_warmup [ { name: "w" inputs { key: "IN" value: { data_type: TYPE_FP32 dims: [ 4 ] input_data_file: "../../secret" } } } ]"""));
}
