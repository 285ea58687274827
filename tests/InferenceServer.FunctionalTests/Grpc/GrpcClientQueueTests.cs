namespace InferenceServer.FunctionalTests.Grpc;

/// <summary>
/// The gRPC service with a model kept busy on purpose, driven by the independent Python client: a full queue is
/// UNAVAILABLE, a deadline that passes in the queue is DEADLINE_EXCEEDED and a queue timeout UNAVAILABLE (as Triton
/// answers it), a cancelled call or stream leaves the queue without running, and a stream's requests run concurrently. Cases: suite "queue" of
/// Grpc/python/grpc_cases.py.
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed class GrpcClientQueueTests(GrpcClientQueueTests.Suite suite) : IClassFixture<GrpcClientQueueTests.Suite>
{
    private static readonly string[] Names =
    [
        "queue_full_is_unavailable",
        "deadline_expires_while_queued",
        "timeout_parameter_expires_while_queued",
        "cancelled_call_is_removed_from_the_queue",
        "stream_deadline_expires_while_queued",
        "stream_timeout_parameter_answers_an_error_with_its_id",
        "stream_queue_timeout_answer_is_final",
        "stream_requests_run_concurrently",
        "stream_cancelled_while_queued_removes_its_requests",
    ];

    public static TheoryData<string> Cases => new(Names);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Case(string name) => suite.Results.AssertPassed(name);

    [Fact]
    public void EveryPythonCaseIsATestHere() => suite.Results.AssertListed(Names);

    /// <summary>
    /// slow: one instance, one request per batch, at most two queued, queue timeouts a request may set (a minute by
    /// default, since queued requests wait behind seconds of work on purpose); and simple.
    /// </summary>
    public sealed class Suite : GrpcClientSuiteFixture
    {
        protected override string SuiteName => "queue";

        private protected override void Populate(TestRepository repository) => repository
            .AddSample("simple")
            .AddFixture("slow", "slow_batch.onnx", """
                max_batch_size: 1
                input [ { name: "X" data_type: TYPE_FP32 dims: [ 64, 64 ] }, { name: "ITERATIONS" data_type: TYPE_INT64 dims: [ 1 ] } ]
                output [ { name: "Y" data_type: TYPE_FP32 dims: [ 64, 64 ] } ]
                dynamic_batching { default_queue_policy { max_queue_size: 2 allow_timeout_override: true default_timeout_microseconds: 60000000 } }
                """);
    }
}
