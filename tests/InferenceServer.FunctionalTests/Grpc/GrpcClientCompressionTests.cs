using System.IO.Compression;
using Grpc.Net.Compression;

namespace InferenceServer.FunctionalTests.Grpc;

/// <summary>
/// A server with <c>Grpc:ResponseCompression=gzip</c>: the independent Python client reads its compressed answers and
/// sends gzip requests on the same calls (suite "gzip" of Grpc/python/grpc_cases.py); and a .NET client that accepts gzip
/// gets gzip responses while one that does not gets plain ones (the Python client cannot show which it received).
/// </summary>
public sealed class GrpcClientCompressionTests(GrpcClientCompressionTests.Suite suite) : IClassFixture<GrpcClientCompressionTests.Suite>
{
    private static readonly string[] Names =
    [
        "gzip_responses_decode_exactly",
        "gzip_responses_on_a_stream",
        "gzip_errors_still_carry_their_status",
        "gzip_requests_and_responses_both_ways",
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
    public Task ResponsesAreCompressedOnlyForClientsThatAcceptGzip(bool acceptsGzip) =>
        ResponseEncoding.AssertAsync(suite.Server, acceptsGzip ? [new GzipCompressionProvider(CompressionLevel.Fastest)] : [], acceptsGzip ? "gzip" : null);

    /// <summary>simple, on a server that compresses its responses.</summary>
    public sealed class Suite : GrpcClientSuiteFixture
    {
        protected override string SuiteName => "gzip";

        protected override (string Key, string Value)[] Settings => [("Grpc:ResponseCompression", "gzip")];

        private protected override void Populate(TestRepository repository) => repository.AddSample("simple");
    }
}
