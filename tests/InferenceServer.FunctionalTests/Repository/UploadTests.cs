using System.Globalization;
using System.Net;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using InferenceServer.Protocols.Grpc.Messages;
using static InferenceServer.FunctionalTests.Lifecycle.Lifecycle;
using static InferenceServer.FunctionalTests.Repository.RepositoryApi;

namespace InferenceServer.FunctionalTests.Repository;

/// <summary>
/// Model files uploaded through the repository API: paths the file system cannot hold or that contradict each other are
/// client errors naming them, and the bytes uploaded are bounded per load and in total.
/// </summary>
public sealed class UploadTests
{
    private static readonly byte[] Model = TestRepository.Fixture("add_sub.onnx");

    private static async Task<(HttpStatusCode Status, string Error)> UploadAsync(RunningServer server, string model, params (string Path, byte[] Content)[] files) =>
        await RepositoryAsync(server.Client, $"/v2/repository/models/{model}/load", LoadBody(AddSubJson(), [("1/model.onnx", Model), .. files]));

    private static async Task<RpcException> UploadOverGrpcAsync(RunningServer server, params string[] paths)
    {
        using var channel = GrpcChannels.For(server.Host.GrpcAddress);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var request = new RepositoryModelLoadRequest { ModelName = "m" };
        request.Parameters["config"] = new ModelRepositoryParameter { StringParam = AddSubJson() };
        foreach (var path in paths)
        {
            request.Parameters["file:" + path] = new ModelRepositoryParameter { BytesParam = ByteString.CopyFrom(Model) };
        }
        return await Assert.ThrowsAsync<RpcException>(async () => await client.RepositoryModelLoadAsync(request));
    }

    [Fact]
    public async Task AFileNameLongerThanTheFileSystemAllowsIsAClientError()
    {
        using var repository = new TestRepository();
        using var uploads = new TestRepository();
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit, ("Server:UploadDirectory", uploads.Path));
        var name = "1/" + new string('a', 300);

        var (status, error) = await UploadAsync(server, "m", (name, "x"u8.ToArray()));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("has a name longer than 255 bytes", error);
        Assert.Contains("'1/aaaa", error);

        var e = await UploadOverGrpcAsync(server, "1/model.onnx", name);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("has a name longer than 255 bytes", e.Status.Detail);
        await Lifecycle.PollModeTests.WaitUntilAsync(() => Directory.GetFileSystemEntries(uploads.Path).Length == 0, "the refused upload to be deleted");
    }

    [Theory]
    [InlineData("1/a", "1/a/b")]
    [InlineData("1/a/b", "1/a")]
    public async Task APathThatIsBothAFileAndAFolderIsAClientErrorNamingBoth(string first, string second)
    {
        using var repository = new TestRepository();
        using var uploads = new TestRepository();
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit, ("Server:UploadDirectory", uploads.Path));

        var (status, error) = await UploadAsync(server, "m", (first, "x"u8.ToArray()), (second, "y"u8.ToArray()));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("file paths '1/a' and '1/a/b' conflict", error);

        var e = await UploadOverGrpcAsync(server, "1/model.onnx", first, second);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("file paths '1/a' and '1/a/b' conflict", e.Status.Detail);
        Assert.Empty(Directory.GetFileSystemEntries(uploads.Path));
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync("/v2/models/m/ready")).StatusCode);
    }

    [Fact]
    public async Task UploadedBytesAreBoundedPerLoadAndInTotal()
    {
        using var repository = new TestRepository();
        using var uploads = new TestRepository();
        var perLoad = Model.Length + 100;
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit, ("Server:UploadDirectory", uploads.Path),
            ("Server:ModelUploadMaxBytes", perLoad.ToString(CultureInfo.InvariantCulture)),
            ("Server:ModelUploadMaxTotalBytes", (2 * perLoad).ToString(CultureInfo.InvariantCulture)));

        var (status, error) = await UploadAsync(server, "big", ("1/extra.bin", new byte[101]));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Contains("--model-upload-max-bytes", error);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync("/v2/models/big/ready")).StatusCode);

        // Two models' files fit; a third does not until one of them is unloaded.
        Assert.Equal((HttpStatusCode.OK, ""), await UploadAsync(server, "one", ("1/extra.bin", new byte[100])));
        Assert.Equal((HttpStatusCode.OK, ""), await UploadAsync(server, "two"));
        (status, error) = await UploadAsync(server, "three");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Contains("--model-upload-max-total-bytes", error);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync("/v2/models/three/ready")).StatusCode);

        Assert.Equal((HttpStatusCode.OK, ""), await RepositoryAsync(server.Client, "/v2/repository/models/one/unload"));
        Assert.Equal((HttpStatusCode.OK, ""), await UploadAsync(server, "three"));
        Assert.Equal("1", await InferAddSubAsync(server.Client, "three"));
        Assert.Equal("1", await InferAddSubAsync(server.Client, "two"));
    }
}
