using System.Net;
using InferenceServer.FunctionalTests.Http;
using InferenceServer.Hosting;
using static InferenceServer.FunctionalTests.Lifecycle.Lifecycle;

namespace InferenceServer.FunctionalTests.Hosting;

/// <summary>Several model repositories (Triton's repeated --model-repository), --load-model '*', and reasons that name no server path.</summary>
public sealed class ModelRepositoriesTests
{
    private static readonly (string, string) KeepRunning = ("Server:ExitOnError", "false");

    [Fact]
    public async Task TheModelsOfEveryRepositoryServe()
    {
        using var first = new TestRepository().AddFixture("a", "add_sub.onnx", AddSubConfig);
        using var second = new TestRepository().AddFixture("b", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(first.Path, ("Server:ModelRepository:0", first.Path), ("Server:ModelRepository:1", second.Path));

        Assert.Equal("1", await InferAddSubAsync(server.Client, "a"));
        Assert.Equal("1", await InferAddSubAsync(server.Client, "b"));
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/health/ready")).StatusCode);
    }

    [Fact]
    public async Task ANameInTwoRepositoriesIsNotLoadedFromEither()
    {
        using var first = new TestRepository().AddFixture("a", "add_sub.onnx", AddSubConfig).AddFixture("twice", "add_sub.onnx", AddSubConfig);
        using var second = new TestRepository().AddFixture("twice", "add_sub.onnx", AddSubConfig);
        (string, string)[] both = [("Server:ModelRepository:0", first.Path), ("Server:ModelRepository:1", second.Path)];

        // As in Triton: the duplicate is a startup failure.
        var error = await Assert.ThrowsAsync<ServerStartException>(() => RunningServer.StartAsync(first.Path, both));
        Assert.Contains("'twice': model appears in two or more repositories", error.Message);

        await using var server = await RunningServer.StartAsync(first.Path, [.. both, KeepRunning]);
        var index = await IndexAsync(server.Client);
        Assert.Equal(("UNAVAILABLE", "model appears in two or more repositories"), index["twice/-"]);
        Assert.Equal("READY", index["a/1"].State);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await server.Client.GetAsync("/v2/models/twice/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await server.Client.GetAsync("/v2/health/ready")).StatusCode);
    }

    [Fact]
    public async Task TheRepositoryApiLoadsFromAnyRepositoryButNotADuplicate()
    {
        using var first = new TestRepository().AddFixture("a", "add_sub.onnx", AddSubConfig).AddFixture("twice", "add_sub.onnx", AddSubConfig);
        using var second = new TestRepository().AddFixture("b", "add_sub.onnx", AddSubConfig).AddFixture("twice", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(first.Path,
            ("Server:ModelRepository:0", first.Path), ("Server:ModelRepository:1", second.Path), ("Server:ModelControlMode", "explicit"));

        var before = await IndexAsync(server.Client);
        Assert.Equal(("UNAVAILABLE", "not loaded"), before["b/-"]);
        Assert.Equal(("UNAVAILABLE", "model appears in two or more repositories"), before["twice/-"]);

        Assert.Equal((HttpStatusCode.OK, ""), await RepositoryAsync(server.Client, "/v2/repository/models/b/load"));
        Assert.Equal("1", await InferAddSubAsync(server.Client, "b"));
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "failed to load 'twice': model appears in two or more repositories"),
            await RepositoryAsync(server.Client, "/v2/repository/models/twice/load"));
        Assert.Equal((HttpStatusCode.NotFound, "failed to load 'nope': no model folder 'nope' in any model repository"),
            await RepositoryAsync(server.Client, "/v2/repository/models/nope/load"));
    }

    [Fact]
    public async Task LoadModelStarLoadsEveryModelInExplicitMode()
    {
        using var repository = new TestRepository().AddFixture("a", "add_sub.onnx", AddSubConfig).AddFixture("b", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, ("Server:ModelControlMode", "explicit"), ("Server:LoadModels:0", "*"));

        Assert.Equal("1", await InferAddSubAsync(server.Client, "a"));
        Assert.Equal("1", await InferAddSubAsync(server.Client, "b"));
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/health/ready")).StatusCode);
        // Still explicit: the repository API works.
        Assert.Equal((HttpStatusCode.OK, ""), await RepositoryAsync(server.Client, "/v2/repository/models/a/unload"));
    }

    [Fact]
    public async Task ReasonsSentToClientsNameNoServerPath()
    {
        using var repository = new TestRepository()
            .AddFixture("bad_config", "add_sub.onnx", "name: \"bad_config\"\nmax_batch_size: {\n")
            .Add("corrupt", "name: \"corrupt\"\nplatform: \"onnxruntime_onnx\"\nmax_batch_size: 0\n", "this is not an onnx file"u8.ToArray())
            .Add("no_file", AddSubConfig, "x"u8.ToArray(), "other.onnx")
            .AddFixture("fine", "add_sub.onnx", AddSubConfig);
        Directory.CreateDirectory(Path.Combine(repository.Path, "no_versions"));
        File.WriteAllText(Path.Combine(repository.Path, "no_versions", "config.pbtxt"), AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, KeepRunning, ("Server:ModelControlMode", "explicit"), ("Server:LoadModels:0", "*"));

        var index = await IndexAsync(server.Client);
        Assert.StartsWith("bad_config/config.pbtxt:3:1: expected '}'", index["bad_config/-"].Reason);
        Assert.Contains("'corrupt/1/model.onnx'", index["corrupt/1"].Reason);
        Assert.Equal("model file 'no_file/1/model.onnx' not found", index["no_file/1"].Reason);
        Assert.Equal("model folder 'no_versions' has no numeric version folders", index["no_versions/-"].Reason);
        var (status, loadError) = await RepositoryAsync(server.Client, "/v2/repository/models/bad_config/load");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.StartsWith("failed to load 'bad_config': bad_config/config.pbtxt:3:1: ", loadError);
        var (response, body) = await server.Client.PostJsonAsync("/v2/models/corrupt/infer", AddSubRequest());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);

        var everything = string.Join("\n", index.Values.Select(v => v.Reason).Append(loadError).Append(body!["error"]!.GetValue<string>()));
        Assert.DoesNotContain(repository.Path, everything);
        Assert.DoesNotContain(Path.GetTempPath(), everything);
    }

    [Fact]
    public async Task AnUploadThatCannotBeWrittenNamesNoServerPath()
    {
        using var repository = new TestRepository().AddFixture("fine", "add_sub.onnx", AddSubConfig);
        // A file where the upload folder should be: nothing can be written under it.
        var blocked = Path.Combine(repository.Path, "not-a-folder");
        File.WriteAllText(blocked, "");
        await using var server = await RunningServer.StartAsync(repository.Path, ("Server:ModelControlMode", "explicit"), ("Server:UploadDirectory", Path.Combine(blocked, "uploads")));

        var body = System.Text.Json.JsonSerializer.Serialize(new
        {
            parameters = new Dictionary<string, string>
            {
                ["config"] = """{"name": "up", "backend": "onnxruntime"}""",
                ["file:1/model.onnx"] = Convert.ToBase64String(TestRepository.Fixture("add_sub.onnx")),
            },
        });
        var (status, error) = await RepositoryAsync(server.Client, "/v2/repository/models/up/load", body);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.StartsWith("failed to load 'up': the uploaded files cannot be written: ", error);
        Assert.DoesNotContain(repository.Path, error);
    }
}
