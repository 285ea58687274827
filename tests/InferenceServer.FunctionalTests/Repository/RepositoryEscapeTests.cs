using System.Net;
using Grpc.Core;
using Grpc.Net.Client;
using Google.Protobuf;
using InferenceServer.Protocols.Grpc.Messages;
using static InferenceServer.FunctionalTests.Lifecycle.Lifecycle;
using static InferenceServer.FunctionalTests.Repository.RepositoryApi;

namespace InferenceServer.FunctionalTests.Repository;

/// <summary>
/// A model loads only files inside its repository (or the upload folder): a config cannot name a file elsewhere (nor
/// learn what exists there), symbolic links are followed only when the operator allows it, model names are one path
/// segment at every way in, and no error a client gets names a server path.
/// </summary>
public sealed class RepositoryEscapeTests : IDisposable
{
    private readonly TestRepository _outside = new();

    public RepositoryEscapeTests()
    {
        // A complete model outside the repository: what an escape would load.
        _outside.AddFixture("elsewhere", "add_sub.onnx", AddSubConfig);
    }

    private string OutsideModelFile => Path.Combine(_outside.Path, "elsewhere", "1", "model.onnx");

    [Fact]
    public async Task ADefaultModelFilenameThatIsAPathIsRefusedWithoutLookingAtIt()
    {
        using var repository = new TestRepository().AddFixture("m", "add_sub.onnx", AddSubConfig);
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit);

        foreach (var name in new[] { OutsideModelFile, "../../../" + Path.GetRelativePath(repository.Path, OutsideModelFile), "1/model.onnx", ".." })
        {
            var (status, error) = await RepositoryAsync(server.Client, "/v2/repository/models/m/load",
                LoadBody(AddSubJson($$""", "default_model_filename": {{System.Text.Json.JsonSerializer.Serialize(name)}}"""), []));
            Assert.True(status == HttpStatusCode.BadRequest, $"{name}: {status} {error}");
            Assert.Contains("default_model_filename", error);
            Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync("/v2/models/m/ready")).StatusCode);
        }

        // The answer is the same whether the file exists or not: the field does not probe the file system.
        var (_, present) = await RepositoryAsync(server.Client, "/v2/repository/models/m/load", LoadBody(AddSubJson(""", "default_model_filename": "/etc/passwd" """), []));
        var (_, absent) = await RepositoryAsync(server.Client, "/v2/repository/models/m/load", LoadBody(AddSubJson(""", "default_model_filename": "/etc/nonexistent" """), []));
        Assert.Equal(present.Replace("/etc/passwd", "NAME", StringComparison.Ordinal), absent.Replace("/etc/nonexistent", "NAME", StringComparison.Ordinal));

        // The same field in the repository's config.pbtxt fails the load with the same reason.
        await File.WriteAllTextAsync(Path.Combine(repository.Path, "m", "config.pbtxt"), AddSubConfig + $"\ndefault_model_filename: \"{OutsideModelFile}\"\n");
        var (fromFile, reason) = await RepositoryAsync(server.Client, "/v2/repository/models/m/load");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, fromFile);
        Assert.Contains("m/config.pbtxt", reason);
        Assert.Contains("default_model_filename", reason);
        Assert.NotEqual(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/m/ready")).StatusCode);
    }

    [Theory]
    [InlineData("model folder")]
    [InlineData("version folder")]
    [InlineData("model file")]
    [InlineData("config")]
    public async Task ASymbolicLinkOutOfTheRepositoryIsFollowedOnlyWhenAllowed(string linked)
    {
        using var repository = new TestRepository();
        var model = Path.Combine(repository.Path, "m");
        var elsewhere = Path.Combine(_outside.Path, "elsewhere");
        switch (linked)
        {
            case "model folder":
                Directory.CreateSymbolicLink(model, elsewhere);
                break;
            case "version folder":
                Directory.CreateDirectory(model);
                File.WriteAllText(Path.Combine(model, "config.pbtxt"), AddSubConfig);
                Directory.CreateSymbolicLink(Path.Combine(model, "1"), Path.Combine(elsewhere, "1"));
                break;
            case "model file":
                Directory.CreateDirectory(Path.Combine(model, "1"));
                File.WriteAllText(Path.Combine(model, "config.pbtxt"), AddSubConfig);
                File.CreateSymbolicLink(Path.Combine(model, "1", "model.onnx"), OutsideModelFile);
                break;
            default:
                repository.AddFixture("m", "add_sub.onnx");
                File.CreateSymbolicLink(Path.Combine(model, "config.pbtxt"), Path.Combine(elsewhere, "config.pbtxt"));
                break;
        }

        await using (var server = await RunningServer.StartAsync(repository.Path, Explicit))
        {
            var (status, error) = await RepositoryAsync(server.Client, "/v2/repository/models/m/load");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.Contains("is a symbolic link", error);
            Assert.Contains("--repository-follow-symlinks", error);
            Assert.DoesNotContain(repository.Path, error);
            Assert.DoesNotContain(_outside.Path, error);
            Assert.NotEqual(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/m/ready")).StatusCode);
            Assert.All(await IndexAsync(server.Client), row => Assert.DoesNotContain(repository.Path, row.Value.Reason));
        }

        await using (var server = await RunningServer.StartAsync(repository.Path, Explicit, ("Server:RepositoryFollowSymlinks", "true")))
        {
            Assert.Equal((HttpStatusCode.OK, ""), await RepositoryAsync(server.Client, "/v2/repository/models/m/load"));
            Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));
        }
    }

    [Fact]
    public async Task AModelFolderLinkedOutOfTheRepositoryDoesNotLoadAtStartup()
    {
        using var repository = new TestRepository().AddFixture("inside", "add_sub.onnx", AddSubConfig);
        Directory.CreateSymbolicLink(Path.Combine(repository.Path, "linked"), Path.Combine(_outside.Path, "elsewhere"));
        await using var server = await RunningServer.StartAsync(repository.Path, ("Server:ExitOnError", "false"), ("Server:StrictReadiness", "false"));

        Assert.Equal("1", await InferAddSubAsync(server.Client, "inside"));
        Assert.NotEqual(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/linked/ready")).StatusCode);
        var (state, reason) = (await IndexAsync(server.Client))["linked/-"];
        Assert.Equal("UNAVAILABLE", state);
        Assert.Contains("'linked' is a symbolic link", reason);
    }

    [Theory]
    [InlineData("a%2Fb")]
    [InlineData("a%2fb")]
    [InlineData("..%2F..%2Fescape")]
    [InlineData("a%5Cb")]
    [InlineData("a%C2%85b")]
    public async Task AModelNameThatIsNotOnePathSegmentIsRefusedOverRest(string encoded)
    {
        using var repository = new TestRepository();
        using var uploads = new TestRepository();
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit, ("Server:UploadDirectory", uploads.Path));

        var (status, error) = await RepositoryAsync(server.Client, $"/v2/repository/models/{encoded}/load",
            LoadBody(AddSubJson(), [("1/model.onnx", TestRepository.Fixture("add_sub.onnx"))]));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("is not a model name", error);
        (status, error) = await RepositoryAsync(server.Client, $"/v2/repository/models/{encoded}/unload");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("is not a model name", error);
        Assert.Empty(Directory.GetFileSystemEntries(uploads.Path));
        Assert.DoesNotContain(await IndexAsync(server.Client), row => row.Key.StartsWith('a'));
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("..")]
    [InlineData("a\u0085b")]
    [InlineData("")]
    public async Task AModelNameThatIsNotOnePathSegmentIsRefusedOverGrpc(string name)
    {
        using var repository = new TestRepository();
        using var uploads = new TestRepository();
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit, ("Server:UploadDirectory", uploads.Path));
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

        var request = new RepositoryModelLoadRequest { ModelName = name };
        request.Parameters["config"] = new ModelRepositoryParameter { StringParam = AddSubJson() };
        request.Parameters["file:1/model.onnx"] = new ModelRepositoryParameter { BytesParam = ByteString.CopyFrom(TestRepository.Fixture("add_sub.onnx")) };
        var load = await Assert.ThrowsAsync<RpcException>(async () => await client.RepositoryModelLoadAsync(request));
        Assert.Equal(StatusCode.InvalidArgument, load.StatusCode);
        Assert.Contains("is not a model name", load.Status.Detail);
        var unload = await Assert.ThrowsAsync<RpcException>(async () => await client.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = name }));
        Assert.Equal(StatusCode.InvalidArgument, unload.StatusCode);
        Assert.Empty(Directory.GetFileSystemEntries(uploads.Path));
    }

    [Fact]
    public async Task AModelNameLongerThanAFolderNameIsRefused()
    {
        using var repository = new TestRepository();
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit);

        var (status, error) = await RepositoryAsync(server.Client, $"/v2/repository/models/{new string('m', 300)}/load",
            LoadBody(AddSubJson(), [("1/model.onnx", TestRepository.Fixture("add_sub.onnx"))]));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("at most 255 bytes", error);
    }

    public void Dispose() => _outside.Dispose();
}
