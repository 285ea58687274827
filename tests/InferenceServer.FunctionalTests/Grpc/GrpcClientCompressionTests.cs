using System.IO.Compression;
using Grpc.Net.Compression;

namespace InferenceServer.FunctionalTests.Grpc;

/// <summary>
/// A server with <c>Grpc:ResponseCompression</c> set to one encoding: the independent Python client reads its
/// compressed answers and sends requests compressed the same way on the same calls (the suite of that name in
/// Grpc/python/grpc_cases.py); a .NET client that accepts the encoding gets it, one that does not gets plain responses
/// (the Python client cannot show which it received).
/// </summary>
public abstract class GrpcClientCompressionTests<TSuite>(TSuite suite) : IClassFixture<TSuite>
    where TSuite : CompressedGrpcSuite
{
    // Each case of the suite, after its encoding's prefix (gzip_responses_decode_exactly, ...).
    private static readonly string[] Kinds =
    [
        "responses_decode_exactly",
        "responses_on_a_stream",
        "errors_still_carry_their_status",
        "requests_and_responses_both_ways",
    ];

    public static TheoryData<string> Cases => new(Kinds);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Case(string kind) => suite.Results.AssertPassed($"{suite.Encoding}_{kind}");

    [Fact]
    public void EveryPythonCaseIsATestHere() => suite.Results.AssertListed(Kinds.Select(k => $"{suite.Encoding}_{k}"));

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public Task ResponsesAreCompressedOnlyForClientsThatAcceptTheEncoding(bool accepts) =>
        ResponseEncoding.AssertAsync(suite.Running, accepts ? [suite.Provider] : [], accepts ? suite.Encoding : null);
}

/// <summary>simple, on a server that compresses its responses with <see cref="Encoding"/>.</summary>
public abstract class CompressedGrpcSuite : GrpcClientSuiteFixture
{
    /// <summary>The encoding, as gRPC names it; also the suite's name.</summary>
    public abstract string Encoding { get; }

    internal abstract ICompressionProvider Provider { get; }

    protected override string SuiteName => Encoding;

    protected override (string Key, string Value)[] Settings => [("Grpc:ResponseCompression", Encoding)];

    private protected override void Populate(TestRepository repository) => repository.AddSample("simple");
}

/// <summary>gzip.</summary>
public sealed class GrpcClientGzipTests(GrpcClientGzipTests.Suite suite) : GrpcClientCompressionTests<GrpcClientGzipTests.Suite>(suite)
{
    public sealed class Suite : CompressedGrpcSuite
    {
        public override string Encoding => "gzip";

        internal override ICompressionProvider Provider => new GzipCompressionProvider(CompressionLevel.Fastest);
    }
}

/// <summary>gRPC's deflate (zlib framing), which Triton's gRPC runtime also speaks.</summary>
public sealed class GrpcClientDeflateTests(GrpcClientDeflateTests.Suite suite) : GrpcClientCompressionTests<GrpcClientDeflateTests.Suite>(suite)
{
    public sealed class Suite : CompressedGrpcSuite
    {
        public override string Encoding => "deflate";

        internal override ICompressionProvider Provider => new DeflateCompressionProvider(CompressionLevel.Fastest);
    }
}
