using Grpc.Core;

namespace InferenceServer.UnitTests.TestDoubles;

/// <summary>A gRPC server call context with the deadline and cancellation a test sets.</summary>
internal sealed class TestServerCallContext(string method = "/inference.GRPCInferenceService/ModelInfer") : ServerCallContext
{
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

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
}
