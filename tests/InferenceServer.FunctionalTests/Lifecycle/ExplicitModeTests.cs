using System.Net;
using System.Text.Json;
using InferenceServer.FunctionalTests.Http;
using static InferenceServer.FunctionalTests.Lifecycle.Lifecycle;

namespace InferenceServer.FunctionalTests.Lifecycle;

/// <summary>The repository API's load and unload against a real server in explicit mode.</summary>
public sealed class ExplicitModeTests
{
    private static readonly (string, string) Explicit = ("Server:ModelControlMode", "explicit");

    // add_sub's config as Triton's JSON (protobuf's JSON mapping: camelCase accepted, int64 as strings).
    private static string AddSubJson(int maxBatchSize = 4, int instances = 1, string extra = "") => $$"""
        {"name": "m", "backend": "onnxruntime", "maxBatchSize": {{maxBatchSize}},
         "input": [{"name": "INPUT0", "data_type": "TYPE_INT32", "dims": ["16"]}, {"name": "INPUT1", "data_type": "TYPE_INT32", "dims": [16]}],
         "output": [{"name": "OUTPUT0", "data_type": "TYPE_INT32", "dims": [16]}, {"name": "OUTPUT1", "data_type": "TYPE_INT32", "dims": [16]}],
         "instance_group": [{"count": {{instances}}, "kind": "KIND_CPU"}]{{extra}}}
        """;

    private static string LoadBody(string? config, params (string Path, byte[] Content)[] files)
    {
        var parameters = new Dictionary<string, string>();
        if (config is not null)
        {
            parameters["config"] = config;
        }
        foreach (var (path, content) in files)
        {
            parameters["file:" + path] = Convert.ToBase64String(content);
        }
        return JsonSerializer.Serialize(new { parameters });
    }

    [Fact]
    public async Task AModelIsLoadedAndUnloadedThroughTheApi()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit);

        Assert.Equal(("UNAVAILABLE", "not loaded"), (await IndexAsync(server.Client))["m/-"]);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync("/v2/models/m/ready")).StatusCode);

        var load = await server.Client.PostAsync("/v2/repository/models/m/load", null);
        Assert.Equal(HttpStatusCode.OK, load.StatusCode);
        Assert.Equal("", await load.Content.ReadAsStringAsync());
        // The load answered only once the model serves.
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));
        Assert.Equal("READY", (await IndexAsync(server.Client))["m/1"].State);

        Assert.Equal((HttpStatusCode.OK, ""), await RepositoryAsync(server.Client, "/v2/repository/models/m/unload", """{"parameters": {"unload_dependents": true}}"""));
        // The unload answered only once the version released its instances.
        Assert.Equal(("UNAVAILABLE", "unloaded"), (await IndexAsync(server.Client))["m/1"]);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync("/v2/models/m/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.PostJsonAsync("/v2/models/m/infer", AddSubRequest())).Response.StatusCode);

        // Loaded again from the repository: serves again.
        Assert.Equal((HttpStatusCode.OK, ""), await RepositoryAsync(server.Client, "/v2/repository/models/m/load"));
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));
    }

    [Fact]
    public async Task UnknownModelsAndBadBodiesAreClearErrors()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit);

        var (status, error) = await RepositoryAsync(server.Client, "/v2/repository/models/nope/load");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("'nope'", error);
        (status, error) = await RepositoryAsync(server.Client, "/v2/repository/models/nope/unload");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("unknown model", error);

        (status, error) = await RepositoryAsync(server.Client, "/v2/repository/models/m/load", """{"parameters": {"config": 5}}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("'config' must be a string", error);
        (status, error) = await RepositoryAsync(server.Client, "/v2/repository/models/m/load", """{"parameters": {"config": "{\"max_batch_size\": \"many\"}"}}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("max_batch_size", error);
        (status, error) = await RepositoryAsync(server.Client, "/v2/repository/models/m/load", """{"parameters": {"file:1/model.onnx": "AAAA"}}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("'config' parameter", error);
        (status, error) = await RepositoryAsync(server.Client, "/v2/repository/models/m/load", """{"parameters": {"config": "{}", "file:1/model.onnx": "not base64!"}}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("base64", error);
        (status, _) = await RepositoryAsync(server.Client, "/v2/repository/models/m/unload", """{"parameters": {"unload_dependents": "yes"}}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        (status, _) = await RepositoryAsync(server.Client, "/v2/repository/models/m/load", "[1, 2");
        Assert.Equal(HttpStatusCode.BadRequest, status);
    }

    [Fact]
    public async Task AConfigOverrideReplacesTheRepositorysConfig()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit, ("Server:LoadModels:0", "m"));
        var (_, config) = await server.Client.GetJsonAsync("/v2/models/m/config");
        Assert.Equal(4, config!["max_batch_size"]!.GetValue<int>());

        Assert.Equal((HttpStatusCode.OK, ""), await RepositoryAsync(server.Client, "/v2/repository/models/m/load", LoadBody(AddSubJson(maxBatchSize: 2))));
        (_, config) = await server.Client.GetJsonAsync("/v2/models/m/config");
        Assert.Equal(2, config!["max_batch_size"]!.GetValue<int>());
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));

        // A config the model contradicts fails the load, naming why (the request's own config: 400); what served keeps serving.
        var contradicting = AddSubJson().Replace("\"TYPE_INT32\", \"dims\": [\"16\"]", "\"TYPE_FP32\", \"dims\": [\"16\"]", StringComparison.Ordinal);
        var (status, error) = await RepositoryAsync(server.Client, "/v2/repository/models/m/load", LoadBody(contradicting));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("failed to load 'm'", error);
        Assert.Contains("INPUT0", error);
        (_, config) = await server.Client.GetJsonAsync("/v2/models/m/config");
        Assert.Equal(2, config!["max_batch_size"]!.GetValue<int>());
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));
    }

    [Fact]
    public async Task UploadedFilesAreLoadedFromAFreshFolderThatGoesAwayWithTheModel()
    {
        using var repository = new TestRepository();
        using var uploads = new TestRepository();
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit, ("Server:UploadDirectory", uploads.Path));
        var model = TestRepository.Fixture("add_sub.onnx");

        Assert.Equal((HttpStatusCode.OK, ""), await RepositoryAsync(server.Client, "/v2/repository/models/m/load", LoadBody(AddSubJson(), ("1/model.onnx", model))));
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));
        Assert.Single(Directory.GetDirectories(uploads.Path));

        // A second upload with version 2: the policy (latest 1) retires version 1 and its folder.
        Assert.Equal((HttpStatusCode.OK, ""), await RepositoryAsync(server.Client, "/v2/repository/models/m/load", LoadBody(AddSubJson(), ("2/model.onnx", model))));
        Assert.Equal("2", await InferAddSubAsync(server.Client, "m"));
        await PollModeTests.WaitUntilAsync(() => Directory.GetDirectories(uploads.Path).Length == 1, "version 1's upload folder to be deleted");

        // A corrupt upload fails and leaves version 2 serving.
        var (status, error) = await RepositoryAsync(server.Client, "/v2/repository/models/m/load", LoadBody(AddSubJson(), ("3/model.onnx", "garbage"u8.ToArray())));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("version 3", error);
        Assert.Equal("2", await InferAddSubAsync(server.Client, "m"));
        Assert.Equal("UNAVAILABLE", (await IndexAsync(server.Client))["m/3"].State);

        Assert.Equal((HttpStatusCode.OK, ""), await RepositoryAsync(server.Client, "/v2/repository/models/m/unload"));
        Assert.Empty(Directory.GetDirectories(uploads.Path));
    }

    [Theory]
    [InlineData("../escape/1/model.onnx", "'..' segment")]
    [InlineData("1/../../escape.onnx", "'..' segment")]
    [InlineData("/tmp/escape.onnx", "absolute")]
    [InlineData("1\\..\\..\\escape.onnx", "backslash")]
    [InlineData("1//model.onnx", "empty segment")]
    [InlineData("", "empty")]
    [InlineData("./1/model.onnx", "'.' segment")]
    public async Task FilePathsThatLeaveTheModelFolderAreRefused(string path, string problem)
    {
        using var repository = new TestRepository();
        using var uploads = new TestRepository();
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit, ("Server:UploadDirectory", uploads.Path));

        var body = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["parameters"] = new Dictionary<string, string>
            {
                ["config"] = AddSubJson(),
                ["file:1/model.onnx"] = Convert.ToBase64String(TestRepository.Fixture("add_sub.onnx")),
                ["file:" + path] = "AAAA",
            },
        });
        var (status, error) = await RepositoryAsync(server.Client, "/v2/repository/models/m/load", body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(problem, error);
        Assert.Empty(Directory.GetFileSystemEntries(uploads.Path));
        Assert.False(File.Exists(Path.Combine(Path.GetTempPath(), "escape.onnx")));
        Assert.False((await IndexAsync(server.Client)).ContainsKey("m/1"));
    }

    [Fact]
    public async Task AModelNameThatIsNotAFolderNameIsRefused()
    {
        using var repository = new TestRepository();
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit);

        var (status, error) = await RepositoryAsync(server.Client, "/v2/repository/models/..%2F..%2Fetc/load");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("not a model name", error);
        (status, _) = await RepositoryAsync(server.Client, "/v2/repository/models/.hidden/load");
        Assert.Equal(HttpStatusCode.BadRequest, status);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("poll")]
    public async Task LoadAndUnloadAreRefusedUnlessTheModeIsExplicit(string mode)
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, ("Server:ModelControlMode", mode));

        foreach (var operation in new[] { "load", "unload" })
        {
            var (status, error) = await RepositoryAsync(server.Client, $"/v2/repository/models/m/{operation}");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.Contains("explicit model load / unload is not allowed", error);
            Assert.Contains($"'{mode}'", error);
        }
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));
    }

    [Fact]
    public async Task ReloadingAnUnchangedModelKeepsItsVersionAndANewVersionFolderReplacesIt()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit, ("Server:LoadModels:0", "m"));
        var version = server.Version("m", 1);

        Assert.Equal((HttpStatusCode.OK, ""), await RepositoryAsync(server.Client, "/v2/repository/models/m/load"));
        Assert.Same(version, server.Version("m", 1));

        repository.AddVersion("m", 2, "not a model"u8.ToArray());
        var (status, error) = await RepositoryAsync(server.Client, "/v2/repository/models/m/load");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("version 2", error);
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));
        Assert.Same(version, server.Version("m", 1));

        repository.AddVersion("m", 2, TestRepository.Fixture("add_sub.onnx"));
        Assert.Equal((HttpStatusCode.OK, ""), await RepositoryAsync(server.Client, "/v2/repository/models/m/load"));
        Assert.Equal("2", await InferAddSubAsync(server.Client, "m"));
        await PollModeTests.WaitUntilAsync(() => version.State == Core.Models.ModelState.Unavailable, "version 1 to unload");
        Assert.Equal("unloaded", version.Reason);
    }
}
