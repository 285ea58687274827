using Grpc.Core;
using InferenceServer.Protocols.Grpc;
using InferenceServer.Protocols.Grpc.Messages;
using InferenceServer.UnitTests.TestDoubles;

namespace InferenceServer.UnitTests.Protocols.Grpc;

/// <summary>The marshallers of the small methods' generated messages.</summary>
public sealed class ProtobufMarshallersTests
{
    [Fact]
    public void A_message_round_trips_with_its_length_declared_first()
    {
        var marshaller = ProtobufMarshallers.Create(ModelMetadataRequest.Parser, int.MaxValue);
        var context = new BufferSerializationContext();

        marshaller.ContextualSerializer(new ModelMetadataRequest { Name = "simple", Version = "3" }, context);
        var parsed = marshaller.ContextualDeserializer(new PayloadDeserializationContext(Segments.OneBytePerSegment(context.Written)));

        Assert.Equal(context.Written.Length, context.DeclaredLength);
        Assert.True(context.Completed);
        Assert.Equal(("simple", "3"), (parsed.Name, parsed.Version));
    }

    [Fact]
    public void A_malformed_message_is_invalid_argument_naming_the_message()
    {
        var marshaller = ProtobufMarshallers.Create(ModelMetadataRequest.Parser, int.MaxValue);

        var error = Assert.Throws<RpcException>(() => marshaller.ContextualDeserializer(new PayloadDeserializationContext([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith("malformed ModelMetadataRequest: ", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_message_over_the_send_limit_is_resource_exhausted_naming_its_size_and_the_limit()
    {
        var marshaller = ProtobufMarshallers.Create(ServerMetadataResponse.Parser, 10);
        var message = new ServerMetadataResponse { Name = "inference-server", Version = "1.0.0" };
        var context = new BufferSerializationContext();

        var error = Assert.Throws<RpcException>(() => marshaller.ContextualSerializer(message, context));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Equal($"Response message of {message.CalculateSize()} bytes exceeds the limit of 10 bytes.", error.Status.Detail);
        Assert.Empty(context.Written);
    }
}
