using System.Net;
using System.Text.Json.Nodes;

namespace InferenceServer.FunctionalTests.Http;

public sealed class EndpointTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private readonly HttpClient _client = server.Client;

    [Fact]
    public async Task ServerMetadataNamesTheServerAndItsExtensions()
    {
        var (response, body) = await _client.GetJsonAsync("/v2");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("inference-server", body!["name"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(body["version"]!.GetValue<string>()));
        // Triton's names for what is implemented; the shared-memory, trace, logging, classification and generate
        // extensions are not, so not listed.
        Assert.Equal(
            ["binary_tensor_data", "model_repository", "model_repository(unload_dependents)", "model_configuration", "schedule_policy", "parameters", "statistics"],
            body["extensions"]!.AsArray().Select(e => e!.GetValue<string>()));
        // The runtime behind each backend, in a field of its own so the version stays the server's (the TorchScript
        // backend's entry is checked with its tests).
        var backend = body["backends"]!.AsArray().Single(b => b!["name"]!.GetValue<string>() == "onnxruntime")!;
        Assert.Equal("onnxruntime", backend["name"]!.GetValue<string>());
        Assert.Equal("ONNX Runtime", backend["runtime"]!.GetValue<string>());
        Assert.StartsWith("1.32.", backend["version"]!.GetValue<string>());
        Assert.Equal("cpu", backend["flavor"]!.GetValue<string>());
    }

    [Fact]
    public async Task HealthIsLiveAndReadyOnceLoaded()
    {
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("/v2/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("/v2/health/ready")).StatusCode);
    }

    [Fact]
    public async Task ModelMetadataDescribesTensorsAsClientsSendThem()
    {
        var (response, body) = await _client.GetJsonAsync("/v2/models/simple");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("simple", body!["name"]!.GetValue<string>());
        Assert.Equal(["1"], body["versions"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal("onnxruntime_onnx", body["platform"]!.GetValue<string>());
        var input = body["inputs"]!.AsArray().Single(i => i!["name"]!.GetValue<string>() == "INPUT0")!;
        Assert.Equal("INT32", input["datatype"]!.GetValue<string>());
        Assert.Equal([-1L, 16L], input["shape"]!.AsArray().Select(d => d!.GetValue<long>()));
        Assert.Equal(2, body["outputs"]!.AsArray().Count);

        var (versioned, versionBody) = await _client.GetJsonAsync("/v2/models/simple/versions/1");
        Assert.Equal(HttpStatusCode.OK, versioned.StatusCode);
        Assert.Equal(body.ToJsonString(), versionBody!.ToJsonString());
    }

    [Theory]
    [InlineData("/v2/models/simple/ready", HttpStatusCode.OK)]
    [InlineData("/v2/models/simple/versions/1/ready", HttpStatusCode.OK)]
    [InlineData("/v2/models/simple/versions/7/ready", HttpStatusCode.NotFound)]
    [InlineData("/v2/models/nope/ready", HttpStatusCode.NotFound)]
    [InlineData("/v2/models/corrupt/ready", HttpStatusCode.ServiceUnavailable)]
    public async Task ModelReadiness(string path, HttpStatusCode expected)
    {
        Assert.Equal(expected, (await _client.GetAsync(path)).StatusCode);
    }

    [Fact]
    public async Task ConfigReturnsTheConfigInTritonsJsonShape()
    {
        var (response, body) = await _client.GetJsonAsync("/v2/models/simple/config");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("simple", body!["name"]!.GetValue<string>());
        Assert.Equal(8, body["max_batch_size"]!.GetValue<int>());
        var input = body["input"]!.AsArray()[0]!;
        Assert.Equal("TYPE_INT32", input["data_type"]!.GetValue<string>());
        Assert.Equal([16L], input["dims"]!.AsArray().Select(d => d!.GetValue<long>()));
        // Triton's defaults as it reports them: the latest version, unnamed groups named <model>_<index>.
        Assert.Equal(1, body["version_policy"]!["latest"]!["num_versions"]!.GetValue<int>());
        var group = body["instance_group"]!.AsArray()[0]!;
        Assert.Equal(("simple_0", 1, "KIND_CPU"), (group["name"]!.GetValue<string>(), group["count"]!.GetValue<int>(), group["kind"]!.GetValue<string>()));
        Assert.Equal("onnxruntime", body["backend"]!.GetValue<string>());
    }

    [Fact]
    public async Task ConfigOfAModelWithoutConfigPbtxtIsAutoCompleted()
    {
        var (response, body) = await _client.GetJsonAsync("/v2/models/add_sub/config");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("add_sub", body!["name"]!.GetValue<string>());
        Assert.Equal("onnxruntime_onnx", body["platform"]!.GetValue<string>());
        // Every tensor of add_sub has a leading dynamic dimension, so it can batch: Triton's default of 4.
        Assert.Equal(4, body["max_batch_size"]!.GetValue<int>());
        Assert.Equal(2, body["input"]!.AsArray().Count);
        Assert.Equal(2, body["output"]!.AsArray().Count);
        Assert.All(body["input"]!.AsArray(), i => Assert.Equal("TYPE_INT32", i!["data_type"]!.GetValue<string>()));
    }

    [Fact]
    public async Task RepositoryIndexListsEveryModelWithStateAndReason()
    {
        var (response, body) = await _client.PostJsonAsync("/v2/repository/index", "{}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var rows = body!.AsArray().ToDictionary(r => r!["name"]!.GetValue<string>(), r => r!);
        Assert.Equal("READY", rows["simple"]["state"]!.GetValue<string>());
        Assert.Equal("1", rows["simple"]["version"]!.GetValue<string>());

        Assert.Equal("UNAVAILABLE", rows["corrupt"]["state"]!.GetValue<string>());
        Assert.Contains("failed to load", rows["corrupt"]["reason"]!.GetValue<string>());
        Assert.Equal("UNAVAILABLE", rows["mismatch"]["state"]!.GetValue<string>());
        Assert.Contains("'A'", rows["mismatch"]["reason"]!.GetValue<string>());
        Assert.Equal("UNAVAILABLE", rows["bad_config"]["state"]!.GetValue<string>());
        Assert.Contains("config.pbtxt", rows["bad_config"]["reason"]!.GetValue<string>());

        var (_, ready) = await _client.PostJsonAsync("/v2/repository/index", """{"ready": true}""");
        Assert.All(ready!.AsArray(), r => Assert.Equal("READY", r!["state"]!.GetValue<string>()));
        Assert.DoesNotContain(ready.AsArray(), r => r!["name"]!.GetValue<string>() == "corrupt");

        var (empty, _) = await _client.PostJsonAsync("/v2/repository/index", "");
        Assert.Equal(HttpStatusCode.OK, empty.StatusCode);
    }

    [Fact]
    public async Task AFailedModelAnswers503WithItsReasonWhileOthersServe()
    {
        var (response, body) = await _client.PostJsonAsync("/v2/models/corrupt/infer",
            """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}]}""");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("corrupt", body!["error"]!.GetValue<string>());

        var (ok, _) = await _client.GetJsonAsync("/v2/models/simple");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Theory]
    [InlineData("/v2/models/nope")]
    [InlineData("/v2/models/simple/versions/9")]
    [InlineData("/v2/models/simple/versions/abc/config")]
    public async Task UnknownModelOrVersionIs404WithAnError(string path)
    {
        var (response, body) = await _client.GetJsonAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.IsType<JsonObject>(body);
        Assert.False(string.IsNullOrEmpty(body!["error"]!.GetValue<string>()));
    }
}
