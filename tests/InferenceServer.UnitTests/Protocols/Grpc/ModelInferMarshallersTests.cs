using System.Buffers.Binary;
using Google.Protobuf;
using Grpc.Core;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;
using InferenceServer.Protocols.Grpc;
using InferenceServer.Protocols.Grpc.Messages;
using InferenceServer.UnitTests.TestDoubles;
using DataType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.UnitTests.Protocols.Grpc;

/// <summary>The ModelInfer and ModelStreamInfer marshallers: straight into pooled tensors, straight out of them.</summary>
public sealed class ModelInferMarshallersTests
{
    private static ModelInferRequest Request(string id = "r1", params long[] shape)
    {
        var message = new ModelInferRequest { ModelName = "m", ModelVersion = "2", Id = id };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "a", Datatype = "INT32" };
        input.Shape.AddRange(shape.Length == 0 ? [1, 3] : shape);
        message.Inputs.Add(input);
        var data = new byte[12];
        for (var i = 0; i < 3; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(i * 4), i + 7);
        }
        message.RawInputContents.Add(ByteString.CopyFrom(data));
        return message;
    }

    private static InferenceResponse Response(params int[] values)
    {
        var data = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(i * 4), values[i]);
        }
        return new InferenceResponse("m", "2", "r1", [Tensor.Copy("out", DataType.Int32, [1, values.Length], data)]);
    }

    [Fact]
    public void A_request_is_decoded_from_the_payload_where_it_lies_into_tensors()
    {
        var payload = Segments.OneBytePerSegment(Request().ToByteArray());

        using var request = ModelInferMarshallers.Request.ContextualDeserializer(new PayloadDeserializationContext(payload));

        Assert.Equal(("m", "2", "r1"), (request.ModelName, request.ModelVersion, request.Id));
        var input = Assert.Single(request.Inputs);
        Assert.Equal([1L, 3], input.Shape);
        Assert.Equal(8, BinaryPrimitives.ReadInt32LittleEndian(input.Data[4..]));
    }

    [Fact]
    public void A_request_that_cannot_be_decoded_ends_the_call_with_invalid_argument_saying_why()
    {
        var truncated = new byte[] { 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f };
        var negative = Request("r2", -1, 3).ToByteArray();

        var malformed = Assert.Throws<RpcException>(() => ModelInferMarshallers.Request.ContextualDeserializer(new PayloadDeserializationContext(truncated)));
        var invalid = Assert.Throws<RpcException>(() => ModelInferMarshallers.Request.ContextualDeserializer(new PayloadDeserializationContext(negative)));

        Assert.Equal(StatusCode.InvalidArgument, malformed.StatusCode);
        Assert.Contains("malformed ModelInferRequest", malformed.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.InvalidArgument, invalid.StatusCode);
        Assert.Contains("'a'", invalid.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_stream_message_that_cannot_be_decoded_carries_its_error_and_its_ids_to_the_handler()
    {
        var negative = Request("r3", -1, 3).ToByteArray();

        var message = ModelInferMarshallers.StreamRequest.ContextualDeserializer(new PayloadDeserializationContext(negative));
        var garbage = ModelInferMarshallers.StreamRequest.ContextualDeserializer(new PayloadDeserializationContext([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]));

        Assert.Null(message.Request);
        Assert.Contains("'a'", message.Error, StringComparison.Ordinal);
        Assert.Equal(("m", "2", "r3"), (message.ModelName, message.ModelVersion, message.Id));
        Assert.Null(garbage.Request);
        Assert.Contains("malformed ModelInferRequest", garbage.Error, StringComparison.Ordinal);
        Assert.Equal(("", "", ""), (garbage.ModelName, garbage.ModelVersion, garbage.Id));
    }

    [Fact]
    public void A_stream_message_that_decodes_carries_the_request()
    {
        var message = ModelInferMarshallers.StreamRequest.ContextualDeserializer(new PayloadDeserializationContext(Request("r4").ToByteArray()));

        using var request = message.Request;
        Assert.Null(message.Error);
        Assert.Equal("r4", request!.Id);
        Assert.Equal("r4", message.Id);
    }

    [Fact]
    public void The_response_is_written_with_its_length_declared_as_protobuf_serializes_it_then_released()
    {
        var response = Response(1, -2, 3);
        var expected = new ModelInferResponse { ModelName = "m", ModelVersion = "2", Id = "r1" };
        var output = new ModelInferResponse.Types.InferOutputTensor { Name = "out", Datatype = "INT32" };
        output.Shape.AddRange([1, 3]);
        expected.Outputs.Add(output);
        expected.RawOutputContents.Add(ByteString.CopyFrom(response.Outputs[0].Data));
        var context = new BufferSerializationContext();

        ModelInferMarshallers.Response(int.MaxValue).ContextualSerializer(response, context);

        Assert.Equal(expected.ToByteArray(), context.Written);
        Assert.Equal(context.Written.Length, context.DeclaredLength);
        Assert.True(context.Completed);
        Assert.Throws<ObjectDisposedException>(() => response.Outputs[0].Data.Length);
    }

    [Fact]
    public void A_response_over_the_send_limit_ends_the_call_with_resource_exhausted_before_anything_is_written()
    {
        var response = Response([.. Enumerable.Range(0, 100)]);
        var context = new BufferSerializationContext();

        var error = Assert.Throws<RpcException>(() => ModelInferMarshallers.Response(256).ContextualSerializer(response, context));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Matches("^Response message of \\d+ bytes exceeds the limit of 256 bytes\\.$", error.Status.Detail);
        Assert.Empty(context.Written);
        Assert.Null(context.DeclaredLength);
        Assert.Throws<ObjectDisposedException>(() => response.Outputs[0].Data.Length);
    }
}
