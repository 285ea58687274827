using System.Buffers;
using System.Buffers.Binary;
using Google.Protobuf;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;
using InferenceServer.Protocols.Grpc;
using InferenceServer.Protocols.Grpc.Messages;
using DataType = InferenceServer.Core.Tensors.DataType;
using InferenceServer.UnitTests.TestDoubles;
using InputTensor = InferenceServer.Protocols.Grpc.Messages.ModelInferRequest.Types.InferInputTensor;

namespace InferenceServer.UnitTests.Protocols.Grpc;

public sealed class GrpcInferRequestDecoderTests
{
    private static InferenceRequest Decode(ModelInferRequest message) =>
        GrpcInferRequestDecoder.Decode(new ReadOnlySequence<byte>(message.ToByteArray()));

    private static string Rejected(ModelInferRequest message) => Rejected(message.ToByteArray());

    private static string Rejected(byte[] bytes)
    {
        var error = Assert.Throws<InferenceException>(() => GrpcInferRequestDecoder.Decode(new ReadOnlySequence<byte>(bytes)).Dispose());
        Assert.Equal(InferenceErrorKind.InvalidArgument, error.Kind);
        return error.Message;
    }

    private static InputTensor Input(string name, string datatype, params long[] shape)
    {
        var input = new InputTensor { Name = name, Datatype = datatype };
        input.Shape.AddRange(shape);
        return input;
    }

    private static ModelInferRequest RawRequest(params (InputTensor Input, byte[] Data)[] inputs)
    {
        var message = new ModelInferRequest { ModelName = "m", ModelVersion = "2", Id = "r1" };
        foreach (var (input, data) in inputs)
        {
            message.Inputs.Add(input);
            message.RawInputContents.Add(ByteString.CopyFrom(data));
        }
        return message;
    }

    private static byte[] Int32s(params int[] values)
    {
        var data = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(i * 4), values[i]);
        }
        return data;
    }

    [Fact]
    public void Raw_contents_become_tensors_with_the_request_fields()
    {
        var message = RawRequest((Input("a", "INT32", 1, 3), Int32s(1, 2, 3)), (Input("b", "FP16", 2), [0x00, 0x3C, 0x00, 0x40]));
        message.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "out" });
        using var request = Decode(message);
        Assert.Equal("m", request.ModelName);
        Assert.Equal("2", request.ModelVersion);
        Assert.Equal("r1", request.Id);
        Assert.Equal(["out"], request.RequestedOutputs);
        Assert.Equal(2, request.Inputs.Count);
        Assert.Equal(DataType.Int32, request.Inputs[0].DataType);
        Assert.Equal(new long[] { 1, 3 }, request.Inputs[0].Shape);
        Assert.Equal(Int32s(1, 2, 3), request.Inputs[0].Data.ToArray());
        Assert.Equal(DataType.Fp16, request.Inputs[1].DataType);
        Assert.Equal(new byte[] { 0x00, 0x3C, 0x00, 0x40 }, request.Inputs[1].Data.ToArray());
    }

    [Fact]
    public void A_message_split_across_buffers_decodes_the_same()
    {
        var bytes = RawRequest((Input("a", "INT32", 4), Int32s(10, 20, 30, 40))).ToByteArray();
        // One segment per byte: every field, length and the raw data itself straddle segment boundaries.
        var sequence = Segments.OneBytePerSegment(bytes);
        using var request = GrpcInferRequestDecoder.Decode(sequence);
        Assert.Equal("r1", request.Id);
        Assert.Equal(Int32s(10, 20, 30, 40), request.Inputs[0].Data.ToArray());
    }

    [Fact]
    public void Empty_version_means_the_policy_choice()
    {
        using var request = Decode(new ModelInferRequest { ModelName = "m" });
        Assert.Null(request.ModelVersion);
        Assert.Empty(request.Inputs);
    }

    [Fact]
    public void Typed_contents_fill_every_fixed_size_datatype()
    {
        var message = new ModelInferRequest { ModelName = "m" };
        void Add(string name, string type, Action<InferTensorContents> fill)
        {
            var input = Input(name, type, 2);
            input.Contents = new InferTensorContents();
            fill(input.Contents);
            message.Inputs.Add(input);
        }
        Add("bool", "BOOL", c => c.BoolContents.Add([true, false]));
        Add("i8", "INT8", c => c.IntContents.Add([-128, 127]));
        Add("i16", "INT16", c => c.IntContents.Add([-2, 300]));
        Add("i32", "INT32", c => c.IntContents.Add([int.MinValue, 7]));
        Add("i64", "INT64", c => c.Int64Contents.Add([long.MinValue, 9]));
        Add("u8", "UINT8", c => c.UintContents.Add([0, 255]));
        Add("u16", "UINT16", c => c.UintContents.Add([1, 65535]));
        Add("u32", "UINT32", c => c.UintContents.Add([uint.MaxValue, 3]));
        Add("u64", "UINT64", c => c.Uint64Contents.Add([ulong.MaxValue, 4]));
        Add("f32", "FP32", c => c.Fp32Contents.Add([1.5f, -2f]));
        Add("f64", "FP64", c => c.Fp64Contents.Add([0.25, double.MaxValue]));
        using var request = Decode(message);
        byte[] Data(string name) => request.Inputs.Single(i => i.Name == name).Data.ToArray();
        Assert.Equal(new byte[] { 1, 0 }, Data("bool"));
        Assert.Equal(new byte[] { 0x80, 0x7F }, Data("i8"));
        Assert.Equal(new byte[] { 0xFE, 0xFF, 0x2C, 0x01 }, Data("i16"));
        Assert.Equal(Int32s(int.MinValue, 7), Data("i32"));
        Assert.Equal([.. BitConverter.GetBytes(long.MinValue), .. BitConverter.GetBytes(9L)], Data("i64"));
        Assert.Equal(new byte[] { 0, 255 }, Data("u8"));
        Assert.Equal(new byte[] { 1, 0, 0xFF, 0xFF }, Data("u16"));
        Assert.Equal([.. BitConverter.GetBytes(uint.MaxValue), .. BitConverter.GetBytes(3u)], Data("u32"));
        Assert.Equal([.. BitConverter.GetBytes(ulong.MaxValue), .. BitConverter.GetBytes(4ul)], Data("u64"));
        Assert.Equal([.. BitConverter.GetBytes(1.5f), .. BitConverter.GetBytes(-2f)], Data("f32"));
        Assert.Equal([.. BitConverter.GetBytes(0.25), .. BitConverter.GetBytes(double.MaxValue)], Data("f64"));
    }

    [Fact]
    public void Typed_bytes_are_laid_out_with_length_prefixes()
    {
        var input = Input("s", "BYTES", 2);
        input.Contents = new InferTensorContents();
        input.Contents.BytesContents.Add(ByteString.CopyFromUtf8("ab"));
        input.Contents.BytesContents.Add(ByteString.Empty);
        var message = new ModelInferRequest { ModelName = "m" };
        message.Inputs.Add(input);
        using var request = Decode(message);
        Assert.Equal(new byte[] { 2, 0, 0, 0, (byte)'a', (byte)'b', 0, 0, 0, 0 }, request.Inputs[0].Data.ToArray());
    }

    [Fact]
    public void Request_parameters_set_priority_and_timeout_and_the_others_are_kept_as_text_for_routing()
    {
        var message = new ModelInferRequest { ModelName = "m" };
        message.Parameters["priority"] = new InferParameter { Uint64Param = 2 };
        message.Parameters["timeout"] = new InferParameter { Int64Param = 5000 };
        message.Parameters["binary_data_output"] = new InferParameter { BoolParam = true };
        message.Parameters["cohort"] = new InferParameter { StringParam = "b" };
        message.Parameters["sequence_id"] = new InferParameter { Uint64Param = 42 };
        message.Parameters["weight"] = new InferParameter { DoubleParam = 0.25 };
        using var request = Decode(message);
        Assert.Equal(2, request.Priority);
        Assert.Equal(5000, request.TimeoutMicroseconds);
        Assert.Equal(
            new Dictionary<string, string> { ["binary_data_output"] = "true", ["cohort"] = "b", ["sequence_id"] = "42", ["weight"] = "0.25" },
            request.Parameters);
    }

    [Fact]
    public void A_request_without_other_parameters_carries_none()
    {
        var message = new ModelInferRequest { ModelName = "m" };
        message.Parameters["priority"] = new InferParameter { Uint64Param = 2 };
        using var request = Decode(message);
        Assert.Null(request.Parameters);
    }

    [Theory]
    [InlineData("priority")]
    [InlineData("timeout")]
    public void A_non_integer_or_negative_scheduling_parameter_is_rejected(string key)
    {
        var message = new ModelInferRequest { ModelName = "m" };
        message.Parameters[key] = new InferParameter { StringParam = "soon" };
        Assert.Contains(key, Rejected(message));
        message.Parameters[key] = new InferParameter { Int64Param = -1 };
        Assert.Contains(key, Rejected(message));
    }

    [Fact]
    public void Typed_fp16_is_refused_naming_raw_contents()
    {
        var input = Input("h", "FP16", 1);
        input.Contents = new InferTensorContents();
        input.Contents.Fp32Contents.Add(1f);
        var message = new ModelInferRequest { ModelName = "m" };
        message.Inputs.Add(input);
        Assert.Contains("raw_input_contents", Rejected(message));
    }

    [Fact]
    public void Problems_are_named()
    {
        Assert.Contains("model_name", Rejected(new ModelInferRequest()));

        var wrongCount = RawRequest((Input("a", "INT32", 1), Int32s(1)));
        wrongCount.Inputs.Add(Input("b", "INT32", 1));
        Assert.Contains("raw_input_contents", Rejected(wrongCount));

        var both = RawRequest((Input("a", "INT32", 1), Int32s(1)));
        both.Inputs[0].Contents = new InferTensorContents();
        both.Inputs[0].Contents.IntContents.Add(1);
        Assert.Contains("both", Rejected(both));

        Assert.Contains("'WORD'", Rejected(RawRequest((Input("a", "WORD", 1), Int32s(1)))));
        Assert.Contains("negative", Rejected(RawRequest((Input("a", "INT32", -1), Int32s(1)))));

        var noData = new ModelInferRequest { ModelName = "m" };
        noData.Inputs.Add(Input("a", "INT32", 1));
        Assert.Contains("no data", Rejected(noData));

        var tooFew = new ModelInferRequest { ModelName = "m" };
        tooFew.Inputs.Add(Input("a", "INT32", 3));
        tooFew.Inputs[0].Contents = new InferTensorContents();
        tooFew.Inputs[0].Contents.IntContents.Add([1, 2]);
        Assert.Contains("3 elements", Rejected(tooFew));

        var outOfRange = new ModelInferRequest { ModelName = "m" };
        outOfRange.Inputs.Add(Input("a", "INT8", 1));
        outOfRange.Inputs[0].Contents = new InferTensorContents();
        outOfRange.Inputs[0].Contents.IntContents.Add(300);
        Assert.Contains("out of range", Rejected(outOfRange));

        var classification = new ModelInferRequest { ModelName = "m" };
        var output = new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "o" };
        output.Parameters["classification"] = new InferParameter { Int64Param = 3 };
        classification.Outputs.Add(output);
        Assert.Contains("classification", Rejected(classification));
    }

    [Theory]
    [InlineData(new byte[] { 0x0A, 0x05, (byte)'a' })]              // model_name declares 5 bytes, has 1
    [InlineData(new byte[] { 0x0A })]                               // ends before the length
    [InlineData(new byte[] { 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 })] // varint over 10 bytes
    [InlineData(new byte[] { 0x0B })]                               // wire type 3 (groups)
    [InlineData(new byte[] { 0x0A, 0x02, 0xC3, 0x28 })]             // model_name is not UTF-8
    [InlineData(new byte[] { 0x00 })]                               // field number 0
    [InlineData(new byte[] { 0x08, 0x01 })]                         // model_name as a varint
    [InlineData(new byte[] { 0x2A, 0x02, 0x0A, 0x05 })]             // an input whose own fields are cut short
    public void Malformed_protobuf_is_invalid_argument_naming_the_message(byte[] bytes) =>
        Assert.Contains("ModelInferRequest", Rejected(bytes));

    [Fact]
    public void Unknown_fields_are_skipped()
    {
        var output = new ArrayBufferWriter<byte>();
        var stream = new CodedOutputStream(new BufferWriterStream(output));
        stream.WriteTag(99, WireFormat.WireType.Varint);
        stream.WriteInt64(5);
        stream.WriteTag(98, WireFormat.WireType.Fixed32);
        stream.WriteFixed32(1);
        stream.WriteTag(97, WireFormat.WireType.Fixed64);
        stream.WriteFixed64(1);
        stream.WriteTag(1, WireFormat.WireType.LengthDelimited);
        stream.WriteString("m");
        stream.Flush();
        using var request = GrpcInferRequestDecoder.Decode(new ReadOnlySequence<byte>(output.WrittenMemory));
        Assert.Equal("m", request.ModelName);
    }

    private sealed class BufferWriterStream(IBufferWriter<byte> target) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => target.Write(buffer.AsSpan(offset, count));
    }
}
