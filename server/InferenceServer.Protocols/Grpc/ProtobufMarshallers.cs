using Google.Protobuf;
using Grpc.Core;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// Marshallers for the generated messages of the small methods: parsed from the call's buffers where they lie,
/// serialized straight into the response with the length known up front. A malformed request is INVALID_ARGUMENT
/// (thrown as an <see cref="RpcException"/>, which Grpc.AspNetCore turns into the call's status; anything else a
/// deserializer throws would become UNKNOWN), and a response over the send limit is RESOURCE_EXHAUSTED naming the limit.
/// </summary>
internal static class ProtobufMarshallers
{
    public static Marshaller<T> Create<T>(MessageParser<T> parser, int maxSendBytes)
        where T : class, IMessage<T>, new()
    {
        var name = new T().Descriptor.Name;
        return new Marshaller<T>((message, context) => Write(message, context, maxSendBytes), context => Parse(parser, context, name));
    }

    /// <summary>Writes <paramref name="message"/> as the call's next message, straight into the response buffers.</summary>
    public static void Write(IMessage message, SerializationContext context, int maxSendBytes)
    {
        var size = message.CalculateSize();
        GrpcMessageLimits.CheckSend(size, maxSendBytes);
        context.SetPayloadLength(size);
        message.WriteTo(context.GetBufferWriter());
        context.Complete();
    }

    private static T Parse<T>(MessageParser<T> parser, DeserializationContext context, string name)
        where T : IMessage<T>
    {
        try
        {
            return parser.ParseFrom(context.PayloadAsReadOnlySequence());
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"malformed {name}: {e.Message}"));
        }
    }
}
