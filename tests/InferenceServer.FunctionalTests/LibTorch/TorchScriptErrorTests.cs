using System.Net;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Repository;
using InferenceServer.LibTorch;
using DataType = InferenceServer.Core.Tensors.DataType;
using Tensor = InferenceServer.Core.Tensors.Tensor;
using InferenceServer.FunctionalTests.Http;
using static InferenceServer.FunctionalTests.LibTorch.TorchScriptRepository;
using static InferenceServer.FunctionalTests.Lifecycle.Lifecycle;
using static InferenceServer.FunctionalTests.Repository.RepositoryApi;

namespace InferenceServer.FunctionalTests.LibTorch;

/// <summary>
/// What the pytorch backend refuses, through a real server: each model is loaded on request and fails with a reason that
/// names what is wrong and what to do, or loads and fails a request with one; the server keeps serving the rest.
/// </summary>
public sealed class TorchScriptErrorTests : IAsyncLifetime
{
    private readonly TestRepository _repository = new TestRepository()
        .Add("corrupt", MlpConfig("corrupt"), "this is not a TorchScript archive"u8.ToArray(), "model.pt")
        .Add("no_inputs", """
            name: "no_inputs"
            platform: "pytorch_libtorch"
            max_batch_size: 32
            output [ { name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ 3 ] } ]
            """, TinyMlp, "model.pt")
        .Add("on_gpu", MlpConfig("on_gpu", "instance_group [ { count: 1 kind: KIND_GPU gpus: [ 0 ] } ]"), TinyMlp, "model.pt")
        .Add("strings", """
            name: "strings"
            platform: "pytorch_libtorch"
            max_batch_size: 0
            input [ { name: "INPUT__0" data_type: TYPE_STRING dims: [ 1 ] } ]
            output [ { name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ 1 ] } ]
            """, TinyMlp, "model.pt")
        .Add("unsigned", MlpConfig("unsigned", outputType: "TYPE_UINT16"), TinyMlp, "model.pt")
        .Add("one_argument_short", """
            name: "one_argument_short"
            platform: "pytorch_libtorch"
            max_batch_size: 0
            input [ { name: "INPUT__0" data_type: TYPE_FP32 dims: [ 2 ] } ]
            output [ { name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ 2 ] } ]
            """, Fixture("two_outputs.pt"), "model.pt")
        .Add("mixed_names", """
            name: "mixed_names"
            platform: "pytorch_libtorch"
            max_batch_size: 0
            input [ { name: "INPUT__0" data_type: TYPE_FP32 dims: [ 2 ] }, { name: "b" data_type: TYPE_FP32 dims: [ 2 ] } ]
            output [ { name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ 2 ] } ]
            """, Fixture("two_outputs.pt"), "model.pt")
        .Add("bad_threads", MlpConfig("bad_threads", """parameters { key: "intra_op_thread_count" value { string_value: "many" } }"""), TinyMlp, "model.pt")
        .Add("wrong_output_type", MlpConfig("wrong_output_type", outputType: "TYPE_FP64"), TinyMlp, "model.pt")
        .Add("returns_string", """
            name: "returns_string"
            platform: "pytorch_libtorch"
            max_batch_size: 0
            input [ { name: "INPUT__0" data_type: TYPE_FP32 dims: [ 1 ] } ]
            output [ { name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ 1 ] } ]
            """, Fixture("returns_string.pt"), "model.pt")
        .Add("on_auto", MlpConfig("on_auto", "instance_group [ { count: 2 kind: KIND_AUTO } ]"), TinyMlp, "model.pt")
        .Add("default_threads", MlpConfig("default_threads", """parameters { key: "intra_op_thread_count" value { string_value: "0" } }"""), TinyMlp, "model.pt")
        .AddSample("tiny_mlp_torch");

    private RunningServer _server = null!;

    public async Task InitializeAsync() => _server = await RunningServer.StartAsync(_repository.Path, Explicit);

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _repository.Dispose();
    }

    [Theory]
    [InlineData("corrupt", "LibTorch could not load 'corrupt/1/model.pt' as TorchScript")]
    [InlineData("no_inputs", "the config lists no inputs, and a TorchScript file does not declare its tensors, so they cannot be auto-completed; add an input entry")]
    [InlineData("on_gpu", "KIND_GPU requested (device 0) but this server carries the CPU build of LibTorch")]
    [InlineData("strings", "config input 'INPUT__0' has data_type TYPE_STRING, which the pytorch backend cannot serve (TorchScript has no string tensors)")]
    [InlineData("unsigned", "config output 'OUTPUT__0' has data_type TYPE_UINT16, which the pytorch backend cannot serve")]
    [InlineData("one_argument_short", "the model's forward() takes 2 tensor argument(s) but the config lists 1 input(s): INPUT__0")]
    [InlineData("mixed_names", "config input 'b' has no __<index> suffix while other inputs have one")]
    [InlineData("bad_threads", "parameter 'intra_op_thread_count' is 'many'; expected a whole number")]
    public async Task AModelTheBackendCannotServeFailsToLoadSayingWhy(string model, string reason)
    {
        var (status, error) = await RepositoryAsync(_server.Client, $"/v2/repository/models/{model}/load");

        Assert.NotEqual(HttpStatusCode.OK, status);
        Assert.Contains(reason, error, StringComparison.Ordinal);
        Assert.DoesNotContain(_repository.Path, error, StringComparison.Ordinal);
        var (state, indexReason) = (await IndexAsync(_server.Client))[$"{model}/1"];
        Assert.Equal("UNAVAILABLE", state);
        Assert.Contains(reason, indexReason, StringComparison.Ordinal);
        await AssertTheOtherModelServesAsync();
    }

    // KIND_AUTO takes the CPU on the CPU build, as ONNX Runtime's does without CUDA; 0 threads leaves LibTorch's default.
    [Theory]
    [InlineData("on_auto")]
    [InlineData("default_threads")]
    public async Task ConfigsNearTheEdgesLoadAndServe(string model)
    {
        var (status, error) = await RepositoryAsync(_server.Client, $"/v2/repository/models/{model}/load");
        Assert.True(status == HttpStatusCode.OK, error);
        var (response, body) = await _server.Client.PostJsonAsync($"/v2/models/{model}/infer", MlpRequest(MlpFeatures(2, 7)));
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        Assert.Equal(6, body!["outputs"]![0]!["data"]!.AsArray().Count);
    }

    // The client reads "internal error" and an id (a model fault is no client's business); the reason goes to the log,
    // and is what the instance throws, which the second half checks on the instance itself.
    [Theory]
    [InlineData("wrong_output_type", "[1, 4]", "the model returned FP32 for output 'OUTPUT__0' but the config declares TYPE_FP64; correct the output's data_type")]
    [InlineData("returns_string", "[1]", "the model's forward() returned something other than tensors")]
    public async Task AModelThatReturnsOtherThanItsConfigSaysFailsTheRequestSayingWhy(string model, string shape, string reason)
    {
        var (status, loadError) = await RepositoryAsync(_server.Client, $"/v2/repository/models/{model}/load");
        Assert.True(status == HttpStatusCode.OK, loadError);
        var elements = shape == "[1]" ? "1" : "1, 2, 3, 4";
        var (response, body) = await _server.Client.PostJsonAsync($"/v2/models/{model}/infer",
            $$"""{"inputs": [{"name": "INPUT__0", "datatype": "FP32", "shape": {{shape}}, "data": [{{elements}}]}]}""");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.StartsWith("internal error, id", body!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        await AssertTheOtherModelServesAsync();

        var version = _server.Version(model, 1);
        var modelPath = Path.Combine(_repository.Path, model, "1", "model.pt");
        var config = version.Config!;
        using var instance = new LibTorchBackend().CreateInstance(
            new InstanceOptions(modelPath, InstanceKind.Cpu, 0, new Dictionary<string, string>()) { Declared = ConfigDeclaredSignature.From(config) });
        long[] dims = shape == "[1]" ? [1] : [1, 4];
        using var input = Tensor.Copy("INPUT__0", DataType.Fp32, dims, new byte[sizeof(float) * (dims.Length == 1 ? 1 : 4)]);
        var error = Assert.Throws<BackendException>(() => instance.Run([input], ["OUTPUT__0"]));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    private async Task AssertTheOtherModelServesAsync()
    {
        var (status, error) = await RepositoryAsync(_server.Client, "/v2/repository/models/tiny_mlp_torch/load");
        Assert.True(status == HttpStatusCode.OK, error);
        var (response, body) = await _server.Client.PostJsonAsync("/v2/models/tiny_mlp_torch/infer", MlpRequest(MlpFeatures(2, 3)));
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
    }
}
