using Google.Protobuf;
using Grpc.Core;
using InferenceServer.Core.Inference;
using InferenceServer.Protocols.Grpc.Messages;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// The marshallers that keep ModelInfer and ModelStreamInfer zero-copy: a request is decoded from the call's buffers
/// straight into pooled tensors (<see cref="GrpcInferRequestDecoder"/>), and a response is written from the output
/// tensors straight into the response buffers (<see cref="GrpcInferResponseEncoder"/>), each tensor's bytes copied once.
/// Server side only: the other direction of each is never used by the server.
/// </summary>
internal static class ModelInferMarshallers
{
    /// <summary>A ModelInfer request; one that cannot be decoded ends the call with INVALID_ARGUMENT.</summary>
    public static Marshaller<InferenceRequest> Request { get; } = new(ServerOnly<InferenceRequest>, DecodeRequest);

    /// <summary>A request of a stream; one that cannot be decoded becomes an error answer on the stream, which goes on.</summary>
    public static Marshaller<StreamInferRequest> StreamRequest { get; } = new(ServerOnly<StreamInferRequest>, DecodeStreamRequest);

    /// <summary>A ModelInfer response. The marshaller owns the response the handler returned: it disposes it once written.</summary>
    public static Marshaller<InferenceResponse> Response(int maxSendBytes) => new((response, context) => WriteResponse(response, context, maxSendBytes), ServerOnly<InferenceResponse>);

    private static InferenceRequest DecodeRequest(DeserializationContext context)
    {
        try
        {
            return GrpcInferRequestDecoder.Decode(context.PayloadAsReadOnlySequence());
        }
        catch (InferenceException e)
        {
            throw GrpcErrors.ToRpcException(e);
        }
    }

    private static StreamInferRequest DecodeStreamRequest(DeserializationContext context)
    {
        var message = context.PayloadAsReadOnlySequence();
        try
        {
            return StreamInferRequest.Decoded(GrpcInferRequestDecoder.Decode(message));
        }
        catch (InferenceException e)
        {
            // The answer still carries the request's ids when the message parses as protobuf (an error path: copies are fine).
            try
            {
                var peek = ModelInferRequest.Parser.ParseFrom(message);
                return StreamInferRequest.Failed(e.Message, peek.ModelName, peek.ModelVersion, peek.Id);
            }
            catch (InvalidProtocolBufferException)
            {
                return StreamInferRequest.Failed(e.Message, "", "", "");
            }
        }
    }

    private static void WriteResponse(InferenceResponse response, SerializationContext context, int maxSendBytes)
    {
        using (response)
        {
            ProtobufMarshallers.Write(GrpcInferResponseEncoder.ToMessage(response), context, maxSendBytes);
        }
    }

    private static void ServerOnly<T>(T message, SerializationContext context) =>
        throw new NotSupportedException("the server never sends this message");

    private static T ServerOnly<T>(DeserializationContext context) =>
        throw new NotSupportedException("the server never receives this message");
}
