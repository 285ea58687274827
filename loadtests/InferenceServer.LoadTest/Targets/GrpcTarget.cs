using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Grpc.Core;
using Grpc.Net.Client;
using InferenceServer.LoadTest.Inputs;

namespace InferenceServer.LoadTest.Targets;

/// <summary>
/// KServe v2 gRPC: <c>inference.GRPCInferenceService/ModelInfer</c> through Grpc.Net.Client, each distinct input
/// serialized once and sent as those bytes every time; responses are not deserialized. Calls are spread round robin
/// over <c>connections</c> channels (independent HTTP/2 pools, so more than one core writes requests). The request's
/// timeout travels as the call's deadline (<c>grpc-timeout</c>), so the server can give up too. With several models each
/// has its own serialized inputs (the request names its model). A cold start is read from the response headers.
/// </summary>
internal sealed class GrpcTarget : IInferenceTarget
{
    private static readonly Method<byte[], UnreadMessage> ModelInfer = new(
        MethodType.Unary,
        "inference.GRPCInferenceService",
        "ModelInfer",
        new Marshaller<byte[]>(static bytes => bytes, static bytes => bytes),
        UnreadMessage.Marshaller);

    private readonly GrpcChannel[] _channels;
    private readonly CallInvoker[] _invokers;
    private readonly byte[][][] _bodies;
    private readonly TimeSpan? _timeout;
    private uint _next;

    public GrpcTarget(Uri url, int connections, string model, string? version, IReadOnlyList<InferenceInput> inputs, TimeSpan? timeout)
        : this(url, connections, [model], version, inputs, timeout)
    {
    }

    public GrpcTarget(Uri url, int connections, IReadOnlyList<string> models, string? version, IReadOnlyList<InferenceInput> inputs, TimeSpan? timeout)
    {
        _timeout = timeout;
        _bodies = new byte[models.Count][][];
        for (var m = 0; m < models.Count; m++)
        {
            _bodies[m] = new byte[inputs.Count][];
            for (var i = 0; i < inputs.Count; i++)
            {
                _bodies[m][i] = RequestBodies.Grpc(inputs[i], models[m], version);
            }
        }
        _channels = new GrpcChannel[Math.Max(1, connections)];
        _invokers = new CallInvoker[_channels.Length];
        for (var i = 0; i < _channels.Length; i++)
        {
            _channels[i] = GrpcChannels.Create(url, TimeSpan.FromSeconds(10));
            _invokers[i] = _channels[i].CreateCallInvoker();
        }
    }

    public int ModelCount => _bodies.Length;

    public int InputCount => _bodies[0].Length;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<RequestOutcome> SendAsync(int model, int input, CancellationToken cancellationToken)
    {
        var invoker = _invokers.Length == 1 ? _invokers[0] : _invokers[Interlocked.Increment(ref _next) % (uint)_invokers.Length];
        // Grpc.Net.Client takes a deadline as a point in time and sends what is left of it as grpc-timeout.
        var options = new CallOptions(deadline: _timeout is { } timeout ? DateTime.UtcNow + timeout : null, cancellationToken: cancellationToken);
        try
        {
            using var call = invoker.AsyncUnaryCall(ModelInfer, null, options, _bodies[model][input]);
            await call.ResponseAsync.ConfigureAwait(false);
            // The headers came before the response, so this does not wait.
            var headers = await call.ResponseHeadersAsync.ConfigureAwait(false);
            return ColdStart.Parse(headers.GetValue(ColdStart.Metadata)) is { } coldMs ? RequestOutcome.OkCold(coldMs) : RequestOutcome.Ok;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            // Cancelled by the run (its timeout, or the end of the run), as the REST target's requests are.
            throw new OperationCanceledException(e.Status.Detail, e, cancellationToken);
        }
        catch (RpcException e) when (e.Status.DebugException is HttpRequestException or IOException or SocketException)
        {
            // No gRPC answer at all (refused connection, reset): a transport failure, classified as REST's are.
            ExceptionDispatchInfo.Throw(e.Status.DebugException);
            throw;
        }
        catch (RpcException e)
        {
            return RequestOutcome.Failed(ErrorKey.Grpc(e.StatusCode), e.Status.Detail);
        }
    }

    public ValueTask DisposeAsync()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }
        return ValueTask.CompletedTask;
    }
}
