using Grpc.Core;
using InferenceServer.Core.Inference;
using InferenceServer.Protocols.Grpc;
using InferenceServer.UnitTests.TestDoubles;
using Microsoft.Extensions.Logging;

namespace InferenceServer.UnitTests.Protocols.Grpc;

/// <summary>The status a method ends with for what it threw, and what is logged.</summary>
public sealed class GrpcErrorsTests
{
    [Theory]
    [InlineData(InferenceErrorKind.InvalidArgument, StatusCode.InvalidArgument)]
    [InlineData(InferenceErrorKind.NotFound, StatusCode.NotFound)]
    [InlineData(InferenceErrorKind.Unavailable, StatusCode.Unavailable)]
    [InlineData(InferenceErrorKind.TooLarge, StatusCode.ResourceExhausted)]
    [InlineData(InferenceErrorKind.DeadlineExceeded, StatusCode.DeadlineExceeded)]
    [InlineData(InferenceErrorKind.Cancelled, StatusCode.Cancelled)]
    public void A_core_error_keeps_its_kind_and_message(InferenceErrorKind kind, StatusCode code)
    {
        var logger = new ListLogger();

        var error = GrpcErrors.Translate(new InferenceException(kind, "model 'm' says no"), new TestServerCallContext(), logger);

        Assert.Equal(code, error.StatusCode);
        Assert.Equal("model 'm' says no", error.Status.Detail);
        Assert.Empty(logger.Entries);
    }

    [Fact]
    public void A_request_shed_under_load_carries_the_retry_pushback_in_its_trailers()
    {
        var shed = new InferenceException(InferenceErrorKind.Unavailable, "model 'm' queue is full") { RetryAfter = TimeSpan.FromSeconds(1) };

        var error = GrpcErrors.Translate(shed, new TestServerCallContext(), new ListLogger());

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Equal("1000", error.Trailers.GetValue(GrpcErrors.RetryPushbackTrailer));
        Assert.Null(GrpcErrors.Translate(new InferenceException(InferenceErrorKind.Unavailable, "not ready"), new TestServerCallContext(), new ListLogger())
            .Trailers.GetValue(GrpcErrors.RetryPushbackTrailer));
    }

    [Fact]
    public void A_queue_timeout_that_came_with_the_call_deadline_is_the_deadline_the_client_set()
    {
        var timedOut = new InferenceException(InferenceErrorKind.Unavailable, "timed out in the queue") { RetryAfter = TimeSpan.FromSeconds(1), Scheduled = true };

        var passed = GrpcErrors.Translate(timedOut, new TestServerCallContext { DeadlineValue = DateTime.UtcNow.AddSeconds(-1) }, new ListLogger());
        var ahead = GrpcErrors.Translate(timedOut, new TestServerCallContext { DeadlineValue = DateTime.UtcNow.AddMinutes(1) }, new ListLogger());

        Assert.Equal(StatusCode.DeadlineExceeded, passed.StatusCode);
        Assert.Equal(StatusCode.Unavailable, ahead.StatusCode);
    }

    // An unexpected exception, and a core error of the server's own making (Internal), whose text may show internals.
    public static readonly TheoryData<Exception> Faults = new()
    {
        new InvalidOperationException("secret detail in /srv/models/m/1/model.onnx"),
        new InferenceException(InferenceErrorKind.Internal, "model 'm' failed to run: secret detail in /srv/models/m/1/model.onnx"),
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public void A_fault_is_internal_with_the_call_id_instead_of_its_details_which_are_logged_once_under_it(Exception fault)
    {
        var logger = new ListLogger();

        var error = GrpcErrors.Translate(fault, new TestServerCallContext(), logger);

        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.Equal($"internal error, id {TestServerCallContext.TraceIdentifier}; the server's log has the details under this id", error.Status.Detail);
        Assert.Equal(TestServerCallContext.TraceIdentifier, error.Trailers.GetValue("x-request-id"));
        var entry = Assert.Single(logger.Entries);
        Assert.Equal(LogLevel.Error, entry.Level);
        Assert.Same(fault, entry.Exception);
        Assert.Contains(TestServerCallContext.TraceIdentifier, entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_call_the_client_cancelled_is_only_a_debug_line()
    {
        var logger = new ListLogger();
        using var reset = new CancellationTokenSource();
        reset.Cancel();
        var context = new TestServerCallContext { Token = reset.Token };

        var fromCore = GrpcErrors.Translate(new InferenceException(InferenceErrorKind.Cancelled, "cancelled"), context, logger);
        var fromWrite = GrpcErrors.Translate(new IOException("The client reset the request stream."), context, logger);
        var fromWait = GrpcErrors.Translate(new OperationCanceledException(reset.Token), context, logger);

        Assert.All([fromCore, fromWrite, fromWait], e => Assert.Equal(StatusCode.Cancelled, e.StatusCode));
        Assert.Equal(3, logger.Entries.Count);
        Assert.All(logger.Entries, e =>
        {
            Assert.Equal(LogLevel.Debug, e.Level);
            Assert.Null(e.Exception);
            Assert.Contains("the client cancelled it", e.Message, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void A_call_whose_deadline_passed_is_only_a_debug_line()
    {
        var logger = new ListLogger();
        using var deadline = new CancellationTokenSource();
        deadline.Cancel();
        var context = new TestServerCallContext { Token = deadline.Token, DeadlineValue = DateTime.UtcNow.AddSeconds(-1) };

        var error = GrpcErrors.Translate(new OperationCanceledException(deadline.Token), context, logger);

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        var entry = Assert.Single(logger.Entries);
        Assert.Equal(LogLevel.Debug, entry.Level);
        Assert.Contains("its deadline passed", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_status_thrown_on_purpose_passes_through()
    {
        var status = new RpcException(new Status(StatusCode.ResourceExhausted, "too big"));

        Assert.Same(status, GrpcErrors.Translate(status, new TestServerCallContext(), new ListLogger()));
    }
}
