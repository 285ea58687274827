using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;
using InferenceServer.Protocols.Http;

namespace InferenceServer.UnitTests.Protocols.Http;

public sealed class JsonTensorEncoderTests
{
    private static string Encode(Tensor tensor)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            JsonTensorEncoder.WriteData(writer, tensor);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string Encode(DataType type, byte[] data, long count)
    {
        using var tensor = Tensor.Copy("out", type, [count], data);
        return Encode(tensor);
    }

    private static byte[] Halves(params Half[] values)
    {
        var data = new byte[values.Length * 2];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteHalfLittleEndian(data.AsSpan(i * 2), values[i]);
        }
        return data;
    }

    private static byte[] BFloats(params ushort[] bits)
    {
        var data = new byte[bits.Length * 2];
        for (var i = 0; i < bits.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(i * 2), bits[i]);
        }
        return data;
    }

    private static byte[] Singles(params float[] values)
    {
        var data = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(i * 4), values[i]);
        }
        return data;
    }

    private static byte[] Doubles(params double[] values)
    {
        var data = new byte[values.Length * 8];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(i * 8), values[i]);
        }
        return data;
    }

    [Theory]
    [InlineData(DataType.Bool, "0100", "[true,false]")]
    [InlineData(DataType.UInt8, "00FF", "[0,255]")]
    [InlineData(DataType.Int8, "807FFF", "[-128,127,-1]")]
    [InlineData(DataType.UInt16, "0100FFFF", "[1,65535]")]
    [InlineData(DataType.Int16, "FEFF0201", "[-2,258]")]
    [InlineData(DataType.UInt32, "01000000FFFFFFFF", "[1,4294967295]")]
    [InlineData(DataType.Int32, "FFFFFFFF04030201", "[-1,16909060]")]
    [InlineData(DataType.UInt64, "FFFFFFFFFFFFFFFF0100000000000000", "[18446744073709551615,1]")]
    [InlineData(DataType.Int64, "0000000000000080FFFFFFFFFFFFFF7F", "[-9223372036854775808,9223372036854775807]")]
    [InlineData(DataType.Fp16, "003C00C0FF7B", "[1,-2,65504]")]
    [InlineData(DataType.Bf16, "803FC0BF", "[1,-1.5]")]
    [InlineData(DataType.Fp32, "0000803F000020C0", "[1,-2.5]")]
    [InlineData(DataType.Fp64, "000000000000F03F", "[1]")]
    public void Writes_each_datatype_as_a_flat_array(DataType type, string hex, string json)
    {
        var data = Convert.FromHexString(hex);
        Assert.Equal(json, Encode(type, data, data.Length / type.ElementSize()));
    }

    [Fact]
    public void Fp16_and_bf16_are_written_as_numbers()
    {
        Assert.Equal("[0.5,-0.25,65504,0.099975586]", Encode(DataType.Fp16, Halves((Half)0.5, (Half)(-0.25), Half.MaxValue, (Half)0.1), 4));
        Assert.Equal("[1.5,-2,3.3895314E+38]", Encode(DataType.Bf16, BFloats(0x3FC0, 0xC000, 0x7F7F), 3));
    }

    [Fact]
    public void Non_finite_floats_are_written_as_strings_for_every_float_type()
    {
        const string Expected = "[\"NaN\",\"Infinity\",\"-Infinity\",0]";
        Assert.Equal(Expected, Encode(DataType.Fp16, Halves(Half.NaN, Half.PositiveInfinity, Half.NegativeInfinity, Half.Zero), 4));
        Assert.Equal(Expected, Encode(DataType.Bf16, BFloats(0x7FC0, 0x7F80, 0xFF80, 0), 4));
        Assert.Equal(Expected, Encode(DataType.Fp32, Singles(float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0), 4));
        Assert.Equal(Expected, Encode(DataType.Fp64, Doubles(double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0), 4));
    }

    [Fact]
    public void Extreme_finite_floats_stay_numbers()
    {
        Assert.Equal("[3.4028235E+38,1E-45]", Encode(DataType.Fp32, Singles(float.MaxValue, float.Epsilon), 2));
        Assert.Equal("[1.7976931348623157E+308,-5E-324]", Encode(DataType.Fp64, Doubles(double.MaxValue, -double.Epsilon), 2));
    }

    [Fact]
    public void Bytes_are_written_as_json_strings()
    {
        var data = new byte[64];
        var length = BytesTensorLayout.WriteElement(data, "ab"u8);
        length += BytesTensorLayout.WriteElement(data.AsSpan(length), ""u8);
        length += BytesTensorLayout.WriteElement(data.AsSpan(length), Encoding.UTF8.GetBytes("ü\"\n"));
        using var tensor = Tensor.Copy("out", DataType.Bytes, [3], data.AsSpan(0, length));
        var json = Encode(tensor);
        using var document = JsonDocument.Parse(json);
        Assert.Equal(["ab", "", "ü\"\n"], document.RootElement.EnumerateArray().Select(e => e.GetString()));
    }

    [Theory]
    [InlineData(new byte[] { 0xFF })]
    [InlineData(new byte[] { (byte)'o', (byte)'k', 0xC3 })] // a cut-short two-byte sequence
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })] // an encoded lone surrogate
    public void Bytes_that_are_not_utf8_are_refused_with_a_way_out(byte[] element)
    {
        var data = new byte[element.Length + 8];
        var length = BytesTensorLayout.WriteElement(data, "fine"u8[..0]);
        length += BytesTensorLayout.WriteElement(data.AsSpan(length), element);
        using var tensor = Tensor.Copy("out", DataType.Bytes, [2], data.AsSpan(0, length));
        var error = Assert.Throws<InferenceException>(() => Encode(tensor));
        Assert.Equal(InferenceErrorKind.InvalidArgument, error.Kind);
        Assert.Equal("output 'out' holds bytes that are not valid UTF-8 and cannot be written as a JSON string; request it with \"binary_data\": true", error.Message);
    }

    [Fact]
    public void An_empty_tensor_is_an_empty_array()
    {
        Assert.Equal("[]", Encode(DataType.Fp32, [], 0));
        Assert.Equal("[]", Encode(DataType.Bytes, [], 0));
    }

    [Fact]
    public void An_unknown_datatype_is_an_internal_error()
    {
        using var tensor = Tensor.Copy("out", DataType.Invalid, [1], [1]);
        var error = Assert.Throws<InferenceException>(() => Encode(tensor));
        Assert.Equal(InferenceErrorKind.Internal, error.Kind);
    }

    [Theory]
    [InlineData(DataType.Bool, "[true,false,true]")]
    [InlineData(DataType.UInt8, "[0,7,255]")]
    [InlineData(DataType.Int8, "[-128,0,127]")]
    [InlineData(DataType.UInt16, "[0,7,65535]")]
    [InlineData(DataType.Int16, "[-32768,0,32767]")]
    [InlineData(DataType.UInt32, "[0,7,4294967295]")]
    [InlineData(DataType.Int32, "[-2147483648,0,2147483647]")]
    [InlineData(DataType.UInt64, "[0,7,18446744073709551615]")]
    [InlineData(DataType.Int64, "[-9223372036854775808,0,9223372036854775807]")]
    [InlineData(DataType.Fp16, "[0.1,-65504,6e-8]")]
    [InlineData(DataType.Bf16, "[0.1,-3e38,1e-40]")]
    [InlineData(DataType.Fp32, "[0.1,-3.4e38,1e-45]")]
    [InlineData(DataType.Fp64, "[0.1,-1.7e308,5e-324]")]
    [InlineData(DataType.Bytes, "[\"a\",\"\",\"\\u00fc\\n\\\"\"]")]
    public void Decode_then_encode_then_decode_gives_the_same_bytes(DataType type, string json)
    {
        using var first = JsonTensorDecoder.Decode("in", type, [3], Encoding.UTF8.GetBytes(json));
        var encoded = Encode(first);
        using var second = JsonTensorDecoder.Decode("in", type, [3], Encoding.UTF8.GetBytes(encoded));
        Assert.Equal(first.Data.ToArray(), second.Data.ToArray());
        if (type is not (DataType.Fp16 or DataType.Bf16 or DataType.Fp32 or DataType.Fp64 or DataType.Bytes))
        {
            Assert.Equal(json, encoded);
        }
    }
}
