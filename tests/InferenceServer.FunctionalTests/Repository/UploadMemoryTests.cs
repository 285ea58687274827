using System.Net;
using System.Net.Http.Headers;
using System.Text;
using static InferenceServer.FunctionalTests.Lifecycle.Lifecycle;
using static InferenceServer.FunctionalTests.Repository.RepositoryApi;

namespace InferenceServer.FunctionalTests.Repository;

/// <summary>
/// An uploaded file goes to disk as it is decoded: serving an upload allocates what reading a body of its size costs,
/// and no decoded copy of the file on top; over gRPC too, where the file is not copied out of the message. Measured as the bytes the whole process allocates while requests are
/// served, so it runs apart from the other tests.
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed class UploadMemoryTests
{
    [Fact]
    public async Task AnUploadIsDecodedToDiskWithoutACopyInMemory()
    {
        using var repository = new TestRepository().AddFixture("repo", "add_sub.onnx", AddSubConfig);
        using var uploads = new TestRepository();
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit, ("Server:UploadDirectory", uploads.Path));

        var blob = new byte[32 * 1024 * 1024];
        Random.Shared.NextBytes(blob);
        // As a .NET client writes it: System.Text.Json escapes every '+' of the base64 (\u002B).
        var upload = Encoding.UTF8.GetBytes(LoadBody(AddSubJson(), [("1/model.onnx", TestRepository.Fixture("add_sub.onnx")), ("1/blob.bin", blob)]));
        // A body of the same size whose big parameter the server skips: what reading such a body costs by itself.
        var padding = Encoding.UTF8.GetBytes(LoadBody(null, [], ("padding", new string('A', upload.Length - 40))));

        // What each request allocates, less the new buffers the shared pool made: whether a pooled body buffer is found
        // depends on the thread a request runs on, not on what it does with the body.
        using var pooled = new PooledBufferAllocations();
        var (status, reading) = await PostAsync(server, "repo", padding, pooled);
        Assert.Equal(HttpStatusCode.OK, status);
        (status, var uploading) = await PostAsync(server, "m", upload, pooled);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));

        var written = Directory.GetFiles(uploads.Path, "blob.bin", SearchOption.AllDirectories);
        Assert.Equal(blob, File.ReadAllBytes(Assert.Single(written)));
        // A decoded copy of the file would add 32 MiB, an unescaped copy of its base64 43 MiB more.
        Assert.True(uploading - reading < blob.Length / 2,
            $"the upload allocated {(uploading - reading) / (1024 * 1024)} MiB more than reading a body of its size ({reading / (1024 * 1024)} MiB)");
    }

    // gRPC's generated parser copied each file into a ByteString, held beside the message as received and for the whole
    // load; the files now go from the call's buffers to disk as the request is read. Sent as raw HTTP/2 with the message
    // serialized beforehand, so that the client's own serialization is not counted; the second of two equal uploads is
    // measured, once the server's buffers have grown to carry such a message.
    [Fact]
    public async Task AGrpcUploadIsWrittenToDiskWithoutACopyInMemory()
    {
        using var repository = new TestRepository();
        using var uploads = new TestRepository();
        await using var server = await RunningServer.StartAsync(repository.Path, Explicit, ("Server:UploadDirectory", uploads.Path));
        var blob = new byte[32 * 1024 * 1024];
        Random.Shared.NextBytes(blob);
        var request = new InferenceServer.Protocols.Grpc.Messages.RepositoryModelLoadRequest { ModelName = "m" };
        request.Parameters["config"] = new InferenceServer.Protocols.Grpc.Messages.ModelRepositoryParameter { StringParam = AddSubJson() };
        request.Parameters["file:1/model.onnx"] = new InferenceServer.Protocols.Grpc.Messages.ModelRepositoryParameter
        {
            BytesParam = Google.Protobuf.ByteString.CopyFrom(TestRepository.Fixture("add_sub.onnx")),
        };
        request.Parameters["file:1/blob.bin"] = new InferenceServer.Protocols.Grpc.Messages.ModelRepositoryParameter { BytesParam = Google.Protobuf.ByteString.CopyFrom(blob) };
        var message = Google.Protobuf.MessageExtensions.ToByteArray(request);
        var frame = new byte[5 + message.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), message.Length);
        message.CopyTo(frame, 5);
        request = null;
        message = null;
        using var client = new HttpClient { BaseAddress = server.Host.GrpcAddress };

        using var pooled = new PooledBufferAllocations();
        Assert.Equal("0", await GrpcLoadAsync(client, frame));
        var before = GC.GetTotalAllocatedBytes(precise: true) - pooled.Bytes;
        Assert.Equal("0", await GrpcLoadAsync(client, frame));
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - pooled.Bytes - before;

        Assert.Equal("1", await InferAddSubAsync(server.Client, "m"));
        // The second upload replaced the first, whose folder goes once its version has retired.
        await Lifecycle.PollModeTests.WaitUntilAsync(() => Directory.GetFiles(uploads.Path, "blob.bin", SearchOption.AllDirectories).Length == 1,
            "the first upload's folder to be deleted after its version retired");
        var written = Directory.GetFiles(uploads.Path, "blob.bin", SearchOption.AllDirectories);
        Assert.Equal(blob, File.ReadAllBytes(Assert.Single(written)));
        // A parsed copy of the file would add 32 MiB.
        Assert.True(allocated < blob.Length / 2, $"the gRPC upload of {blob.Length / (1024 * 1024)} MiB allocated {allocated / (1024 * 1024)} MiB");
    }

    // One RepositoryModelLoad call from a frame made beforehand; returns its grpc-status.
    private static async Task<string> GrpcLoadAsync(HttpClient client, byte[] frame)
    {
        using var content = new ByteArrayContent(frame);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        using var call = new HttpRequestMessage(HttpMethod.Post, "/inference.GRPCInferenceService/RepositoryModelLoad")
        {
            Content = content,
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        call.Headers.TryAddWithoutValidation("te", "trailers");
        using var response = await client.SendAsync(call);
        await response.Content.ReadAsByteArrayAsync();
        var status = response.TrailingHeaders.TryGetValues("grpc-status", out var values) ? values.Single()
            : response.Headers.TryGetValues("grpc-status", out values) ? values.Single() : "none";
        var detail = response.TrailingHeaders.TryGetValues("grpc-message", out var messages) ? messages.Single()
            : response.Headers.TryGetValues("grpc-message", out messages) ? messages.Single() : "";
        Assert.True(status == "0", $"grpc-status {status}: {detail}");
        return status;
    }

    private static async Task<(HttpStatusCode Status, long Allocated)> PostAsync(RunningServer server, string model, byte[] body, PooledBufferAllocations pooled)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var before = GC.GetTotalAllocatedBytes(precise: true) - pooled.Bytes;
        using var response = await server.Client.PostAsync($"/v2/repository/models/{model}/load", content);
        return (response.StatusCode, GC.GetTotalAllocatedBytes(precise: true) - pooled.Bytes - before);
    }
}
