using Grpc.Core;
using InferenceServer.Core.Inference;
using InferenceServer.Protocols.Grpc.Messages;
using Microsoft.Extensions.Logging;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// One <c>ModelStreamInfer</c> call: every request read from the stream runs concurrently through the scheduler, and
/// each answer is written as soon as it is ready, carrying its request's <c>id</c>. A request that fails produces an
/// <c>error_message</c> on the stream, which stays open; the call ends after the client half-closes and every request
/// has been answered. At most <c>maxInFlight</c> requests are accepted and not yet answered: the next request is read
/// only once one of them has been written back, so a client that sends without reading its answers is held back by
/// HTTP/2 flow control instead of filling the server's memory.
/// </summary>
/// <remarks>
/// As Triton's stream handler does, every answer produced for a request that reached the scheduler carries the
/// parameter <c>triton_final_response</c>: true when it is the request's last response, which for the models served
/// here (one response per request, nothing decoupled) is every one of them. Answers to requests refused before they
/// were scheduled (undecodable, unknown model, invalid inputs, queue full) carry no parameters, as in Triton.
/// </remarks>
internal sealed class GrpcStreamInfer(
    InferenceGrpcService service,
    IAsyncStreamReader<StreamInferRequest> requests,
    IServerStreamWriter<ModelStreamInferResponse> responses,
    ServerCallContext context,
    int maxInFlight,
    ILogger logger)
{
    /// <summary>The parameter's name in Triton.</summary>
    public const string FinalResponseParameter = "triton_final_response";

    // Shared by every answer: it is only ever serialized, never changed.
    private static readonly InferParameter Final = new() { BoolParam = true };

    private readonly SemaphoreSlim _writeLock = new(1, 1);

    // One slot per request accepted and not yet answered.
    private readonly SemaphoreSlim _slots = new(maxInFlight, maxInFlight);

    public async Task RunAsync()
    {
        var pending = new List<Task>();
        Exception? failure = null;
        try
        {
            while (true)
            {
                await _slots.WaitAsync(context.CancellationToken).ConfigureAwait(false);
                if (!await requests.MoveNext(context.CancellationToken).ConfigureAwait(false))
                {
                    break;
                }
                var message = requests.Current;
                if (message.Request is not { } request)
                {
                    try
                    {
                        await WriteAsync(Failure(message.Error!, message.ModelName, message.ModelVersion, message.Id, final: false), message.Id).ConfigureAwait(false);
                    }
                    finally
                    {
                        _slots.Release();
                    }
                    continue;
                }
                pending.Add(AnswerAsync(request));
                if (pending.Count >= Math.Max(64, 2 * maxInFlight))
                {
                    pending.RemoveAll(static t => t.IsCompleted);
                }
            }
        }
        catch (Exception e)
        {
            // The stream broke (reset, deadline, a message over the size limit): the answers under way still finish
            // (or are dropped), then the call ends with the status for what broke it.
            failure = e;
        }
        try
        {
            await Task.WhenAll(pending).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // An answer could not be written (one over the send limit): that ends the call, unless it was ending already.
            failure ??= e;
        }
        if (failure is not null)
        {
            throw GrpcErrors.Translate(failure, context, logger);
        }
    }

    private async Task AnswerAsync(InferenceRequest request)
    {
        // Off the reading loop, so the next request is read while this one is queued and run.
        await Task.Yield();
        try
        {
            await AnswerOneAsync(request).ConfigureAwait(false);
        }
        finally
        {
            // Answered (or dropped with the call): the reading loop may take the next request.
            _slots.Release();
        }
    }

    private async Task AnswerOneAsync(InferenceRequest request)
    {
        using (request)
        {
            ModelStreamInferResponse answer;
            InferenceResponse? response = null;
            try
            {
                response = await service.InferAsync(request, context).ConfigureAwait(false);
                var result = GrpcInferResponseEncoder.ToMessage(response);
                result.Parameters.Add(FinalResponseParameter, Final);
                answer = new ModelStreamInferResponse { InferResponse = result };
            }
            catch (Exception e) when (context.CancellationToken.IsCancellationRequested)
            {
                // The deadline passed or the client reset the stream: the call itself ends with that status.
                GrpcLog.StreamAnswerDropped(logger, request.Id, e is InferenceException ? e.Message : "the call was cancelled");
                return;
            }
            catch (InferenceException e) when (e.Kind != InferenceErrorKind.Internal)
            {
                answer = Failure(e.Message, request.ModelName, request.ModelVersion ?? "", request.Id, final: e.Scheduled);
            }
            catch (Exception e)
            {
                // A fault of the server's own fails this request, as REST answers it with 500; the stream carries on. The
                // answer carries the call's id, and the log line under it names the request.
                var (message, _) = GrpcErrors.Fault(e, context, logger, $"{context.Method} request '{request.Id}'");
                answer = Failure(message, request.ModelName, request.ModelVersion ?? "", request.Id, final: true);
            }
            using (response)
            {
                await WriteAsync(answer, request.Id).ConfigureAwait(false);
            }
        }
    }

    // One write at a time: the stream writer refuses a write while another is in flight.
    private async Task WriteAsync(ModelStreamInferResponse answer, string id)
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await responses.WriteAsync(answer).ConfigureAwait(false);
        }
        catch (Exception e) when (context.CancellationToken.IsCancellationRequested)
        {
            GrpcLog.StreamAnswerDropped(logger, id, "the call had ended: " + e.Message);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// An error answer with the request's ids. <paramref name="final"/>: the request had been scheduled and this is
    /// the response Triton would send through the request's completion (a queue timeout, a runtime fault).
    /// </summary>
    private static ModelStreamInferResponse Failure(string message, string model, string version, string id, bool final)
    {
        var response = new ModelInferResponse { ModelName = model, ModelVersion = version, Id = id };
        if (final)
        {
            response.Parameters.Add(FinalResponseParameter, Final);
        }
        return new ModelStreamInferResponse { ErrorMessage = message, InferResponse = response };
    }
}
