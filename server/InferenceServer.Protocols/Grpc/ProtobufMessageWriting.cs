using Google.Protobuf;
using InferenceServer.Grpc;

namespace InferenceServer.Protocols.Grpc;

/// <summary>Protobuf messages onto the gRPC layer's writer.</summary>
internal static class ProtobufMessageWriting
{
    /// <summary>Serializes <paramref name="message"/> as one gRPC message, straight into the response, without an intermediate buffer.</summary>
    public static void WriteProtobuf(this GrpcMessageWriter writer, IMessage message)
    {
        var size = message.CalculateSize();
        var body = writer.BeginMessage(size);
        message.WriteTo(body);
        writer.EndMessage();
    }
}
