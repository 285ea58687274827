using System.Net;
using InferenceServer.FunctionalTests.Http;
using static InferenceServer.FunctionalTests.Lifecycle.Lifecycle;
using static InferenceServer.FunctionalTests.Repository.RepositoryApi;

namespace InferenceServer.FunctionalTests.Repository;

/// <summary>
/// An ONNX model may keep its weights in external data files; those are read only from inside the model's version
/// folder. A model whose weights name a file elsewhere (a <c>../</c> path in the model, or a symbolic link beside it)
/// does not load, serves nothing of that file, and the reason a client reads names no server path.
/// </summary>
public sealed class ExternalWeightsTests : IDisposable
{
    private const string Config = """
        name: "m"
        backend: "onnxruntime"
        max_batch_size: 0
        """;

    private static readonly byte[] Weights = "WXYZ"u8.ToArray();
    private static readonly byte[] Secret = "SECRET"u8.ToArray();

    private readonly TestRepository _outside = new();

    private string SecretFile
    {
        get
        {
            var path = Path.Combine(_outside.Path, "secret.bin");
            File.WriteAllBytes(path, Secret);
            return path;
        }
    }

    [Fact]
    public async Task WeightsInAFileBesideTheModelLoadAndAreServed()
    {
        using var repository = new TestRepository().AddFixture("m", "external_weights.onnx", Config);
        await File.WriteAllBytesAsync(Path.Combine(repository.Path, "m", "1", "weights.bin"), Weights);
        await using var server = await RunningServer.StartAsync(repository.Path);

        Assert.Equal(Weights.Select(b => (int)b), await WeightsAsync(server.Client));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WeightsLinkedFromOutsideTheFolderDoNotLoadEvenWhenLinksAreFollowed(bool followSymlinks)
    {
        using var repository = new TestRepository().AddFixture("m", "external_weights.onnx", Config);
        File.CreateSymbolicLink(Path.Combine(repository.Path, "m", "1", "weights.bin"), SecretFile);
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit, ("Server:RepositoryFollowSymlinks", followSymlinks ? "true" : "false"));

        var (status, error) = await RepositoryAsync(server.Client, "/v2/repository/models/m/load");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        AssertRefusedWithoutPaths(error, repository);
        Assert.NotEqual(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/m/ready")).StatusCode);
        Assert.All(await IndexAsync(server.Client), row => AssertRefusedWithoutPaths(row.Value.Reason, repository));
    }

    [Fact]
    public async Task AnUploadedModelWhoseWeightsNameAPathOutOfItsFolderDoesNotLoad()
    {
        using var repository = new TestRepository();
        using var uploads = new TestRepository();
        // What the model's '../../outside.bin' would reach from the upload's version folder, were it followed.
        await File.WriteAllBytesAsync(Path.Combine(uploads.Path, "outside.bin"), Secret);
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit, ("Server:UploadDirectory", uploads.Path));

        var (status, error) = await RepositoryAsync(server.Client, "/v2/repository/models/m/load",
            LoadBody("""{"backend": "onnxruntime", "max_batch_size": 0}""", [("1/model.onnx", TestRepository.Fixture("external_escape.onnx"))]));

        Assert.True(status is HttpStatusCode.BadRequest or HttpStatusCode.ServiceUnavailable, $"{status}: {error}");
        AssertRefusedWithoutPaths(error, uploads);
        Assert.NotEqual(HttpStatusCode.OK, (await server.Client.GetAsync("/v2/models/m/ready")).StatusCode);
    }

    private void AssertRefusedWithoutPaths(string reason, TestRepository repository)
    {
        Assert.Contains("External data", reason, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("escapes model directory", reason);
        Assert.DoesNotContain(repository.Path, reason);
        Assert.DoesNotContain(_outside.Path, reason);
        Assert.DoesNotContain(Path.GetTempPath(), reason);
    }

    private static async Task<IEnumerable<int>> WeightsAsync(HttpClient client)
    {
        var (response, json) = await client.PostJsonAsync("/v2/models/m/infer",
            """{"inputs": [{"name": "INPUT", "shape": [1], "datatype": "FP32", "data": [0]}], "outputs": [{"name": "WEIGHTS"}]}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return json!["outputs"]![0]!["data"]!.AsArray().Select(v => v!.GetValue<int>());
    }

    public void Dispose() => _outside.Dispose();
}
