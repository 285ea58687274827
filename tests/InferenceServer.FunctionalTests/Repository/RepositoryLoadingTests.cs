using System.Net;
using System.Text.Json.Nodes;
using InferenceServer.FunctionalTests.Http;

namespace InferenceServer.FunctionalTests.Repository;

/// <summary>How the server reads a repository: version policies, control modes, strict configs, reshape, file names.</summary>
public sealed class RepositoryLoadingTests
{
    private const string AddSubConfig = """
        backend: "onnxruntime"
        max_batch_size: 4
        input [ { name: "INPUT0" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "INPUT1" data_type: TYPE_INT32 dims: [ 16 ] } ]
        output [ { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "OUTPUT1" data_type: TYPE_INT32 dims: [ 16 ] } ]
        """;

    private static string AddSubRequest(int rows = 1) => $$"""
        {"inputs": [
          {"name": "INPUT0", "datatype": "INT32", "shape": [{{rows}}, 16], "data": [{{string.Join(",", Enumerable.Range(0, 16 * rows))}}]},
          {"name": "INPUT1", "datatype": "INT32", "shape": [{{rows}}, 16], "data": [{{string.Join(",", Enumerable.Repeat(1, 16 * rows))}}]}]}
        """;

    private static async Task<Dictionary<string, string>> StatesAsync(HttpClient client)
    {
        var (_, index) = await client.PostJsonAsync("/v2/repository/index", "{}");
        return index!.AsArray().ToDictionary(
            r => $"{r!["name"]}/{r["version"]?.GetValue<string>() ?? "-"}",
            r => r!["state"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("", "3")]
    [InlineData("version_policy: { latest: { num_versions: 2 } }", "2,3")]
    [InlineData("version_policy: { all: {} }", "1,2,3")]
    [InlineData("version_policy: { specific: { versions: [1, 3] } }", "1,3")]
    public async Task VersionPolicyChoosesWhichVersionsServe(string policy, string expected)
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig + policy, 1, 2, 3);
        await using var server = await RunningServer.StartAsync(repository.Path);

        var states = await StatesAsync(server.Client);
        Assert.Equal(expected.Split(',').Select(v => $"m/{v}"), states.Keys.Order());
        Assert.All(states.Values, s => Assert.Equal("READY", s));

        var (_, metadata) = await server.Client.GetJsonAsync("/v2/models/m");
        Assert.Equal(expected.Split(','), metadata!["versions"]!.AsArray().Select(v => v!.GetValue<string>()));

        // No version in the URL: the highest ready version answers.
        var (response, body) = await server.Client.PostJsonAsync("/v2/models/m/infer", AddSubRequest());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expected.Split(',').Last(), body!["model_version"]!.GetValue<string>());
    }

    [Fact]
    public async Task ExplicitModeLoadsOnlyTheNamedModels()
    {
        using var repository = new TestRepository()
            .AddFixture("wanted", "add_sub.onnx")
            .AddFixture("other", "add_sub.onnx");
        await using var server = await RunningServer.StartAsync(repository.Path,
            ("Server:ModelControlMode", "explicit"), ("Server:LoadModels:0", "wanted"));

        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/wanted/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync("/v2/models/other/ready")).StatusCode);
    }

    [Fact]
    public async Task StrictConfigRefusesAModelWithoutConfigAndKeepsTheRest()
    {
        using var repository = new TestRepository()
            .AddFixture("bare", "add_sub.onnx")
            .AddFixture("full", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, ("Server:StrictModelConfig", "true"), ("Server:ExitOnError", "false"));

        var (_, index) = await server.Client.PostJsonAsync("/v2/repository/index", "{}");
        var bare = index!.AsArray().Single(r => r!["name"]!.GetValue<string>() == "bare")!;
        Assert.Equal("UNAVAILABLE", bare["state"]!.GetValue<string>());
        Assert.Contains("strict", bare["reason"]!.GetValue<string>());
        var (response, _) = await server.Client.PostJsonAsync("/v2/models/full/infer", AddSubRequest());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task ReshapeLetsClientsSendTheConfigsDimsWhileTheModelSeesItsOwn()
    {
        const string config = """
            max_batch_size: 4
            input [ { name: "INPUT0" data_type: TYPE_INT32 dims: [ 4, 4 ] reshape: { shape: [ 16 ] } },
                    { name: "INPUT1" data_type: TYPE_INT32 dims: [ 16 ] } ]
            output [ { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ 2, 8 ] reshape: { shape: [ 16 ] } },
                     { name: "OUTPUT1" data_type: TYPE_INT32 dims: [ 16 ] } ]
            """;
        using var repository = new TestRepository().AddFixture("reshaped", "add_sub.onnx", config);
        await using var server = await RunningServer.StartAsync(repository.Path);

        var (response, body) = await server.Client.PostJsonAsync("/v2/models/reshaped/infer", $$"""
            {"inputs": [
              {"name": "INPUT0", "datatype": "INT32", "shape": [1, 4, 4], "data": [{{string.Join(",", Enumerable.Range(0, 16))}}]},
              {"name": "INPUT1", "datatype": "INT32", "shape": [1, 16], "data": [{{string.Join(",", Enumerable.Repeat(10, 16))}}]}]}
            """);
        Assert.True(response.StatusCode == HttpStatusCode.OK, body?.ToJsonString());
        var sum = body!["outputs"]!.AsArray().Single(o => o!["name"]!.GetValue<string>() == "OUTPUT0")!;
        Assert.Equal([1L, 2L, 8L], sum["shape"]!.AsArray().Select(d => d!.GetValue<long>()));
        Assert.Equal(Enumerable.Range(10, 16), sum["data"]!.AsArray().Select(v => v!.GetValue<int>()));

        var (wrongShape, error) = await server.Client.PostJsonAsync("/v2/models/reshaped/infer", AddSubRequest());
        Assert.Equal(HttpStatusCode.BadRequest, wrongShape.StatusCode);
        Assert.Contains("expects [-1,4,4]", error!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task DefaultModelFilenameAndNonNumericFoldersAreHonoured()
    {
        using var repository = new TestRepository().Add("named", AddSubConfig + "default_model_filename: \"arith.onnx\"",
            File.ReadAllBytes(Path.Combine(RepositoryPaths.OnnxFixtures, "add_sub.onnx")), "arith.onnx", 5);
        Directory.CreateDirectory(Path.Combine(repository.Path, "named", "notes"));
        Directory.CreateDirectory(Path.Combine(repository.Path, ".hidden", "1"));
        await using var server = await RunningServer.StartAsync(repository.Path);

        var states = await StatesAsync(server.Client);
        Assert.Equal(["named/5"], states.Keys);
        Assert.Equal("READY", states["named/5"]);
    }

    [Theory]
    [InlineData("name: \"other\"\n", "does not match the model folder name")]
    [InlineData("backend: \"tensorrt\"\n", "backend 'tensorrt' is not available")]
    [InlineData("max_batch_size: 4\ninput [ { name: \"INPUT0\" data_type: TYPE_INT32 dims: [ 8 ] } ]\n", "dims [8]")]
    [InlineData("max_batch_size: 4\ninstance_group [ { kind: KIND_GPU } ]\n", "KIND_GPU")]
    public async Task ConfigProblemsMakeThatModelUnavailableWithAReason(string config, string reason)
    {
        using var repository = new TestRepository()
            .AddFixture("broken", "add_sub.onnx", config)
            .AddFixture("fine", "add_sub.onnx");
        await using var server = await RunningServer.StartAsync(repository.Path, ("Server:ExitOnError", "false"));

        var (_, index) = await server.Client.PostJsonAsync("/v2/repository/index", "{}");
        var broken = index!.AsArray().Single(r => r!["name"]!.GetValue<string>() == "broken")!;
        Assert.Equal("UNAVAILABLE", broken["state"]!.GetValue<string>());
        Assert.Contains(reason, broken["reason"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/fine/ready")).StatusCode);
    }

    [Fact]
    public async Task AMissingRepositoryStopsStartupWithAClearError()
    {
        var missing = Path.Combine(Path.GetTempPath(), "inference-server-tests", "does-not-exist-" + Guid.NewGuid().ToString("N"));
        var error = await Assert.ThrowsAsync<DirectoryNotFoundException>(() => RunningServer.StartAsync(missing));
        Assert.Contains("does-not-exist", error.Message);
    }
}
