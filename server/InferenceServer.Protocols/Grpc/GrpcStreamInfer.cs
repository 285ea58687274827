using InferenceServer.Core.Inference;
using InferenceServer.Grpc;
using InferenceServer.Protocols.Grpc.Messages;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// One <c>ModelStreamInfer</c> call: every request read from the stream runs concurrently through the scheduler, and
/// each answer is written as soon as it is ready, carrying its request's <c>id</c>. A request that fails produces an
/// <c>error_message</c> on the stream, which stays open; the call ends after the client half-closes and every request
/// has been answered.
/// </summary>
internal sealed class GrpcStreamInfer(InferenceGrpcService service)
{
    public async ValueTask RunAsync(GrpcMessageReader requests, GrpcMessageWriter responses, GrpcCallContext context)
    {
        var writeLock = new SemaphoreSlim(1, 1);
        var pending = new List<Task>();
        while (await requests.MoveNextAsync().ConfigureAwait(false))
        {
            InferenceRequest request;
            try
            {
                // Decoding copies the tensors out of the stream's buffers before the next message is read.
                request = GrpcInferRequestDecoder.Decode(requests.Current);
            }
            catch (InferenceException e)
            {
                await WriteAsync(responses, writeLock, Failure(e.Message, PeekId(requests))).ConfigureAwait(false);
                continue;
            }
            pending.Add(AnswerAsync(request, responses, writeLock, context));
            if (pending.Count >= 64)
            {
                pending.RemoveAll(static t => t.IsCompleted);
            }
        }
        await Task.WhenAll(pending).ConfigureAwait(false);
    }

    private async Task AnswerAsync(InferenceRequest request, GrpcMessageWriter responses, SemaphoreSlim writeLock, GrpcCallContext context)
    {
        // Off the reading loop, so the next request is read while this one is queued and run.
        await Task.Yield();
        using (request)
        {
            ModelStreamInferResponse answer;
            InferenceResponse? response = null;
            try
            {
                response = await service.InferAsync(request, context).ConfigureAwait(false);
                answer = new ModelStreamInferResponse { InferResponse = GrpcInferResponseEncoder.ToMessage(response) };
            }
            catch (InferenceException e)
            {
                answer = Failure(e.Message, (request.ModelName, request.ModelVersion ?? "", request.Id));
            }
            catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
            {
                // The deadline passed or the client reset the stream: the call itself ends with that status.
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A fault in the runtime fails this request, as REST answers it with 500; the stream carries on.
                answer = Failure($"internal error: {e.Message}", (request.ModelName, request.ModelVersion ?? "", request.Id));
            }
            using (response)
            {
                await WriteAsync(responses, writeLock, answer).ConfigureAwait(false);
            }
        }
    }

    private static async Task WriteAsync(GrpcMessageWriter responses, SemaphoreSlim writeLock, ModelStreamInferResponse answer)
    {
        await writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            responses.WriteProtobuf(answer);
            await responses.FlushAsync().ConfigureAwait(false);
        }
        finally
        {
            writeLock.Release();
        }
    }

    private static ModelStreamInferResponse Failure(string message, (string Model, string Version, string Id) request) => new()
    {
        ErrorMessage = message,
        InferResponse = new ModelInferResponse { ModelName = request.Model, ModelVersion = request.Version, Id = request.Id },
    };

    // A request that could not be decoded still gets its id back when it parses as protobuf (an error path: copies are fine).
    private static (string Model, string Version, string Id) PeekId(GrpcMessageReader requests)
    {
        try
        {
            var peek = ModelInferRequest.Parser.ParseFrom(requests.Current);
            return (peek.ModelName, peek.ModelVersion, peek.Id);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException)
        {
            return ("", "", "");
        }
    }
}
