using System.Globalization;

namespace InferenceServer.FunctionalTests.Grpc;

/// <summary>
/// A server with small gRPC message limits (1024 bytes in, 256 out), driven by the independent Python client: larger
/// messages, plain or compressed, on unary calls and streams, are RESOURCE_EXHAUSTED and the server keeps serving.
/// Cases: suite "limits" of Grpc/python/grpc_cases.py.
/// </summary>
public sealed class GrpcClientLimitTests(GrpcClientLimitTests.Suite suite) : IClassFixture<GrpcClientLimitTests.Suite>
{
    private static readonly string[] Names =
    [
        "message_over_the_limit_is_resource_exhausted",
        "compressed_message_over_the_limit_once_inflated_is_resource_exhausted",
        "message_over_the_limit_on_a_stream_is_resource_exhausted",
        "message_at_the_limit_is_served",
        "response_over_the_send_limit_is_resource_exhausted",
    ];

    public static TheoryData<string> Cases => new(Names);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Case(string name) => suite.Results.AssertPassed(name);

    [Fact]
    public void EveryPythonCaseIsATestHere() => suite.Results.AssertListed(Names);

    public sealed class Suite : GrpcClientSuiteFixture
    {
        protected override string SuiteName => "limits";

        protected override (string Key, string Value)[] Settings =>
        [
            ("Grpc:MaxReceiveMessageBytes", 1024.ToString(CultureInfo.InvariantCulture)),
            ("Grpc:MaxSendMessageBytes", 256.ToString(CultureInfo.InvariantCulture)),
        ];

        private protected override void Populate(TestRepository repository) => repository.AddSample("simple");
    }
}
