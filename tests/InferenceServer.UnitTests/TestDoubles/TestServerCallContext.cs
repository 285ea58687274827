using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace InferenceServer.UnitTests.TestDoubles;

/// <summary>A gRPC server call context with the deadline and cancellation a test sets.</summary>
internal sealed class TestServerCallContext(string method = "/inference.GRPCInferenceService/ModelInfer") : ServerCallContext
{
    /// <summary>The call's id, as ASP.NET Core's <c>TraceIdentifier</c> gives it to a hosted call.</summary>
    public const string TraceIdentifier = "0HTEST:00000001";

    public DateTime DeadlineValue { get; set; } = DateTime.MaxValue;

    public CancellationToken Token { get; set; }

    protected override string MethodCore => method;

    protected override string HostCore => "localhost";

    protected override string PeerCore => "ipv4:127.0.0.1:1";

    protected override DateTime DeadlineCore => DeadlineValue;

    protected override Metadata RequestHeadersCore { get; } = [];

    protected override CancellationToken CancellationTokenCore => Token;

    protected override Metadata ResponseTrailersCore { get; } = [];

    protected override Status StatusCore { get; set; }

    protected override WriteOptions? WriteOptionsCore { get; set; }

    protected override AuthContext AuthContextCore { get; } = new(null, []);

    // Where GetHttpContext finds the request of a call whose context is not Grpc.AspNetCore's own.
    protected override IDictionary<object, object> UserStateCore { get; } =
        new Dictionary<object, object> { ["__HttpContext"] = new DefaultHttpContext { TraceIdentifier = TraceIdentifier } };

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
}
