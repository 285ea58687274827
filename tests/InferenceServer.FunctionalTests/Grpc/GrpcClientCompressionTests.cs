using System.Buffers.Binary;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using InferenceServer.Protocols.Grpc.Messages;

namespace InferenceServer.FunctionalTests.Grpc;

/// <summary>
/// A server with <c>Grpc:ResponseCompression=gzip</c>: the independent Python client reads its compressed answers
/// (suite "gzip" of Grpc/python/grpc_cases.py), and at the frame level a client that accepts gzip gets compressed
/// messages while one that does not gets plain ones (the Python client cannot show which it received).
/// </summary>
public sealed class GrpcClientCompressionTests(GrpcClientCompressionTests.Suite suite) : IClassFixture<GrpcClientCompressionTests.Suite>
{
    private static readonly string[] Names =
    [
        "gzip_responses_decode_exactly",
        "gzip_responses_on_a_stream",
        "gzip_errors_still_carry_their_status",
    ];

    public static TheoryData<string> Cases => new(Names);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Case(string name) => suite.Results.AssertPassed(name);

    [Fact]
    public void EveryPythonCaseIsATestHere() => suite.Results.AssertListed(Names);

    [Theory]
    [InlineData("identity, deflate, gzip", true)]
    [InlineData("identity", false)]
    [InlineData(null, false)]
    public async Task ResponsesAreCompressedOnlyForClientsThatAcceptGzip(string? acceptEncoding, bool compressed)
    {
        using var client = new HttpClient { BaseAddress = suite.Server.Host.GrpcAddress };
        // An empty ServerMetadataRequest: a frame of flag 0 and length 0.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/inference.GRPCInferenceService/ServerMetadata")
        {
            Content = new ByteArrayContent(new byte[5]),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        if (acceptEncoding is not null)
        {
            request.Headers.TryAddWithoutValidation("grpc-accept-encoding", acceptEncoding);
        }

        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("0", response.TrailingHeaders.GetValues("grpc-status").Single());
        Assert.Equal(compressed, response.Headers.TryGetValues("grpc-encoding", out var encoding) && encoding.Single() == "gzip");
        Assert.Equal(compressed ? 1 : 0, body[0]);
        var length = (int)BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(1));
        Assert.Equal(body.Length - 5, length);
        var message = body.AsSpan(5).ToArray();
        if (compressed)
        {
            using var gzip = new GZipStream(new MemoryStream(message), CompressionMode.Decompress);
            using var inflated = new MemoryStream();
            await gzip.CopyToAsync(inflated);
            message = inflated.ToArray();
        }
        var metadata = ServerMetadataResponse.Parser.ParseFrom(message);
        Assert.False(string.IsNullOrEmpty(metadata.Name));
    }

    /// <summary>simple, on a server that compresses its responses.</summary>
    public sealed class Suite : GrpcClientSuiteFixture
    {
        protected override string SuiteName => "gzip";

        protected override (string Key, string Value)[] Settings => [("Grpc:ResponseCompression", "gzip")];

        private protected override void Populate(TestRepository repository) => repository.AddSample("simple");
    }
}
