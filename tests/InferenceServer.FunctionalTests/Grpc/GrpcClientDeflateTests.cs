using System.IO.Compression;
using Grpc.Net.Compression;

namespace InferenceServer.FunctionalTests.Grpc;

/// <summary>
/// A server with <c>Grpc:ResponseCompression=deflate</c> (gRPC's deflate: zlib framing), which Triton's gRPC runtime
/// also speaks: the Python client reads its answers and sends deflate requests (suite "deflate" of
/// Grpc/python/grpc_cases.py), and a .NET client that accepts deflate gets deflate responses.
/// </summary>
public sealed class GrpcClientDeflateTests(GrpcClientDeflateTests.Suite suite) : IClassFixture<GrpcClientDeflateTests.Suite>
{
    private static readonly string[] Names =
    [
        "deflate_responses_decode_exactly",
        "deflate_responses_on_a_stream",
        "deflate_errors_still_carry_their_status",
        "deflate_requests_and_responses_both_ways",
    ];

    public static TheoryData<string> Cases => new(Names);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Case(string name) => suite.Results.AssertPassed(name);

    [Fact]
    public void EveryPythonCaseIsATestHere() => suite.Results.AssertListed(Names);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public Task ResponsesAreCompressedOnlyForClientsThatAcceptDeflate(bool acceptsDeflate) =>
        ResponseEncoding.AssertAsync(suite.Server, acceptsDeflate ? [new DeflateCompressionProvider(CompressionLevel.Fastest)] : [], acceptsDeflate ? "deflate" : null);

    /// <summary>simple, on a server that compresses its responses with deflate.</summary>
    public sealed class Suite : GrpcClientSuiteFixture
    {
        protected override string SuiteName => "deflate";

        protected override (string Key, string Value)[] Settings => [("Grpc:ResponseCompression", "deflate")];

        private protected override void Populate(TestRepository repository) => repository.AddSample("simple");
    }
}
