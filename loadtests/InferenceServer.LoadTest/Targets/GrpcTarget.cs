using System.Runtime.CompilerServices;
using InferenceServer.Grpc.Client;
using InferenceServer.LoadTest.Inputs;

namespace InferenceServer.LoadTest.Targets;

/// <summary>
/// KServe v2 gRPC: <c>inference.GRPCInferenceService/ModelInfer</c> through our own HTTP/2 client, each distinct input
/// serialized and framed once. The request's timeout travels as <c>grpc-timeout</c> too, so the server can give up.
/// </summary>
internal sealed class GrpcTarget : IInferenceTarget
{
    public const string ModelInferMethod = "/inference.GRPCInferenceService/ModelInfer";

    private readonly GrpcClient _client;
    private readonly byte[][] _bodies;
    private readonly TimeSpan? _timeout;

    public GrpcTarget(GrpcClient client, string model, string? version, IReadOnlyList<InferenceInput> inputs, TimeSpan? timeout)
    {
        _client = client;
        _timeout = timeout;
        _bodies = new byte[inputs.Count][];
        for (var i = 0; i < inputs.Count; i++)
        {
            _bodies[i] = RequestBodies.Grpc(inputs[i], model, version);
        }
    }

    public int InputCount => _bodies.Length;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<RequestOutcome> SendAsync(int input, CancellationToken cancellationToken)
    {
        var result = await _client.UnaryAsync(ModelInferMethod, _bodies[input], _timeout, keepResponse: false, cancellationToken).ConfigureAwait(false);
        return result.IsOk ? RequestOutcome.Ok : RequestOutcome.Failed(ErrorKey.Grpc(result.Status), result.Message);
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}
