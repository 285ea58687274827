using System.Buffers.Binary;
using System.Text;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;
using InferenceServer.Protocols.Http;
using InferenceServer.UnitTests.Tensors;

namespace InferenceServer.UnitTests.Protocols.Http;

public sealed class JsonTensorDecoderTests
{
    private static Tensor Decode(DataType type, long[] shape, string json) =>
        JsonTensorDecoder.Decode("in", type, shape, Encoding.UTF8.GetBytes(json));

    private static byte[] DecodeBytes(DataType type, long[] shape, string json)
    {
        using var tensor = Decode(type, shape, json);
        return tensor.Data.ToArray();
    }

    private static string Rejected(DataType type, long[] shape, string json)
    {
        var error = Assert.Throws<InferenceException>(() => Decode(type, shape, json).Dispose());
        Assert.Equal(InferenceErrorKind.InvalidArgument, error.Kind);
        return error.Message;
    }

    [Theory]
    [InlineData(DataType.Bool, "[true, false]", "0100")]
    [InlineData(DataType.UInt8, "[0, 255]", "00FF")]
    [InlineData(DataType.Int8, "[-128, 127, -1]", "807FFF")]
    [InlineData(DataType.UInt16, "[1, 65535]", "0100FFFF")]
    [InlineData(DataType.Int16, "[-2, 258]", "FEFF0201")]
    [InlineData(DataType.UInt32, "[1, 4294967295]", "01000000FFFFFFFF")]
    [InlineData(DataType.Int32, "[-1, 16909060]", "FFFFFFFF04030201")]
    [InlineData(DataType.UInt64, "[18446744073709551615, 1]", "FFFFFFFFFFFFFFFF0100000000000000")]
    [InlineData(DataType.Int64, "[-9223372036854775808, 2]", "00000000000000800200000000000000")]
    [InlineData(DataType.Fp16, "[1, -2, 65504]", "003C00C0FF7B")]
    [InlineData(DataType.Bf16, "[1, -2]", "803F00C0")]
    [InlineData(DataType.Fp32, "[1, -2.5]", "0000803F000020C0")]
    [InlineData(DataType.Fp64, "[1]", "000000000000F03F")]
    [InlineData(DataType.Bytes, "[\"ab\", \"\"]", "02000000616200000000")]
    public void Decodes_each_datatype_to_little_endian_bytes(DataType type, string json, string hex)
    {
        var expected = Convert.FromHexString(hex);
        var count = type == DataType.Bytes ? 2 : expected.Length / type.ElementSize();
        Assert.Equal(expected, DecodeBytes(type, [count], json));
    }

    [Theory]
    [InlineData(DataType.Bool, "[true, false, false, true]", "[[true, false], [false, true]]")]
    [InlineData(DataType.UInt8, "[0, 1, 254, 255]", "[[0, 1], [254, 255]]")]
    [InlineData(DataType.Int8, "[-128, -1, 0, 127]", "[[-128, -1], [0, 127]]")]
    [InlineData(DataType.UInt16, "[0, 1, 2, 65535]", "[[0, 1], [2, 65535]]")]
    [InlineData(DataType.Int16, "[-32768, 1, 2, 32767]", "[[-32768, 1], [2, 32767]]")]
    [InlineData(DataType.UInt32, "[0, 1, 2, 4294967295]", "[[0, 1], [2, 4294967295]]")]
    [InlineData(DataType.Int32, "[-2147483648, 1, 2, 2147483647]", "[[-2147483648, 1], [2, 2147483647]]")]
    [InlineData(DataType.UInt64, "[0, 1, 2, 18446744073709551615]", "[[0, 1], [2, 18446744073709551615]]")]
    [InlineData(DataType.Int64, "[-9223372036854775808, 1, 2, 9223372036854775807]", "[[-9223372036854775808, 1], [2, 9223372036854775807]]")]
    [InlineData(DataType.Fp16, "[0.5, -1, 65504, 0.1]", "[[0.5, -1], [65504, 0.1]]")]
    [InlineData(DataType.Bf16, "[0.5, -1, 3e38, 0.1]", "[[0.5, -1], [3e38, 0.1]]")]
    [InlineData(DataType.Fp32, "[0.5, -1, 3.4e38, 0.1]", "[[0.5, -1], [3.4e38, 0.1]]")]
    [InlineData(DataType.Fp64, "[0.5, -1, 1.7e308, 0.1]", "[[0.5, -1], [1.7e308, 0.1]]")]
    [InlineData(DataType.Bytes, "[\"a\", \"\", \"\\u00fc\", \"x\"]", "[[\"a\", \"\"], [\"\\u00fc\", \"x\"]]")]
    public void Flat_and_nested_arrays_give_the_same_bytes(DataType type, string flat, string nested)
    {
        var fromFlat = DecodeBytes(type, [2, 2], flat);
        Assert.Equal(fromFlat, DecodeBytes(type, [2, 2], nested));
        if (type != DataType.Bytes)
        {
            Assert.Equal(4 * type.ElementSize(), fromFlat.Length);
        }
    }

    [Theory]
    [InlineData(DataType.Int8, "-128", "127", "128", "-129")]
    [InlineData(DataType.Int16, "-32768", "32767", "32768", "-32769")]
    [InlineData(DataType.Int32, "-2147483648", "2147483647", "2147483648", "-2147483649")]
    [InlineData(DataType.Int64, "-9223372036854775808", "9223372036854775807", "9223372036854775808", "-9223372036854775809")]
    [InlineData(DataType.UInt8, "0", "255", "256", "-1")]
    [InlineData(DataType.UInt16, "0", "65535", "65536", "-1")]
    [InlineData(DataType.UInt32, "0", "4294967295", "4294967296", "-1")]
    [InlineData(DataType.UInt64, "0", "18446744073709551615", "18446744073709551616", "-1")]
    public void Integer_types_take_their_whole_range_and_nothing_past_it(DataType type, string min, string max, string overMax, string underMin)
    {
        using (var tensor = Decode(type, [2], $"[{min}, {max}]"))
        {
            Assert.Equal(2 * type.ElementSize(), tensor.ByteLength);
        }
        var range = $"an integer from {min} to {max}";
        Assert.Equal($"input 'in' element 1 is {overMax} but {type.ProtocolName()} needs {range}", Rejected(type, [2], $"[{max}, {overMax}]"));
        Assert.Equal($"input 'in' element 2 is {underMin} but {type.ProtocolName()} needs {range}", Rejected(type, [3], $"[{min}, {min}, {underMin}]"));
    }

    [Fact]
    public void Extremes_land_in_the_right_bytes()
    {
        Assert.Equal(short.MinValue, BinaryPrimitives.ReadInt16LittleEndian(DecodeBytes(DataType.Int16, [1], "[-32768]")));
        Assert.Equal(uint.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(DecodeBytes(DataType.UInt32, [1], "[4294967295]")));
        Assert.Equal(long.MaxValue, BinaryPrimitives.ReadInt64LittleEndian(DecodeBytes(DataType.Int64, [1], "[9223372036854775807]")));
        Assert.Equal(ulong.MaxValue, BinaryPrimitives.ReadUInt64LittleEndian(DecodeBytes(DataType.UInt64, [1], "[18446744073709551615]")));
    }

    [Theory]
    [InlineData(DataType.Int32, "1.5")]
    [InlineData(DataType.Int64, "2.0")]
    [InlineData(DataType.UInt8, "1e2")]
    [InlineData(DataType.UInt64, "0.5")]
    [InlineData(DataType.Int8, "-0.1")]
    public void Non_integers_are_rejected_for_integer_types(DataType type, string value)
    {
        var message = Rejected(type, [2], $"[1, {value}]");
        Assert.StartsWith($"input 'in' element 1 is {value} but {type.ProtocolName()} needs an integer from", message);
    }

    [Theory]
    [InlineData(DataType.Int32)]
    [InlineData(DataType.UInt8)]
    [InlineData(DataType.Fp32)]
    [InlineData(DataType.Fp16)]
    public void Booleans_are_rejected_for_numeric_types(DataType type)
    {
        Assert.StartsWith($"input 'in' element 0 is true but {type.ProtocolName()} needs a number", Rejected(type, [1], "[true]"));
    }

    [Theory]
    [InlineData("1")]
    [InlineData("0")]
    [InlineData("\"true\"")]
    [InlineData("null")]
    public void Bool_takes_only_true_and_false(string value)
    {
        Assert.Equal($"input 'in' element 1 is {value} but BOOL needs true or false", Rejected(DataType.Bool, [2], $"[false, {value}]"));
    }

    [Theory]
    [InlineData(DataType.Int64, "\"7\"")]
    [InlineData(DataType.Int32, "{}")]
    [InlineData(DataType.Int32, "\"NaN\"")]
    [InlineData(DataType.UInt8, "\"Infinity\"")]
    [InlineData(DataType.Int64, "\"-Infinity\"")]
    public void Strings_and_other_values_are_rejected_for_integer_types(DataType type, string value)
    {
        var message = Rejected(type, [1], $"[{value}]");
        Assert.StartsWith("input 'in' element 0 is ", message);
        Assert.EndsWith($"but {type.ProtocolName()} needs a number", message);
    }

    [Theory]
    [InlineData(DataType.Fp32, "\"1.5\"")]
    [InlineData(DataType.Fp32, "\"nan\"")]
    [InlineData(DataType.Fp16, "\"inf\"")]
    [InlineData(DataType.Bf16, "\"+Infinity\"")]
    [InlineData(DataType.Fp64, "null")]
    [InlineData(DataType.Fp64, "\"-NaN\"")]
    public void Strings_other_than_the_non_finite_spellings_are_rejected_for_float_types(DataType type, string value)
    {
        var message = Rejected(type, [1], $"[{value}]");
        Assert.Equal($"input 'in' element 0 is {value} but {type.ProtocolName()} needs a number, \"NaN\", \"Infinity\" or \"-Infinity\"", message);
    }

    // The encoder writes non-finite floats as these strings (JSON has no NaN); what the server sends must read back.
    [Theory]
    [InlineData(DataType.Fp16)]
    [InlineData(DataType.Bf16)]
    [InlineData(DataType.Fp32)]
    [InlineData(DataType.Fp64)]
    public void Non_finite_strings_read_back_as_the_encoder_writes_them(DataType type)
    {
        const string Json = "[\"NaN\", \"Infinity\", \"-Infinity\", 1.5]";
        using var tensor = Decode(type, [4], Json);
        var values = new double[4];
        for (var i = 0; i < 4; i++)
        {
            var element = tensor.Data.Slice(i * type.ElementSize(), type.ElementSize());
            values[i] = type switch
            {
                DataType.Fp16 => (double)BinaryPrimitives.ReadHalfLittleEndian(element),
                DataType.Bf16 => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(element) << 16),
                DataType.Fp32 => BinaryPrimitives.ReadSingleLittleEndian(element),
                _ => BinaryPrimitives.ReadDoubleLittleEndian(element),
            };
        }
        Assert.True(double.IsNaN(values[0]));
        Assert.Equal(double.PositiveInfinity, values[1]);
        Assert.Equal(double.NegativeInfinity, values[2]);
        Assert.Equal(1.5, values[3]);

        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            JsonTensorEncoder.WriteData(writer, tensor);
        }
        Assert.Equal("[\"NaN\",\"Infinity\",\"-Infinity\",1.5]", Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    [Theory]
    [InlineData("1")]
    [InlineData("true")]
    [InlineData("null")]
    public void Bytes_takes_only_strings(string value)
    {
        Assert.Equal($"input 'in' element 1 is {value} but BYTES needs a string", Rejected(DataType.Bytes, [2], $"[\"a\", {value}]"));
    }

    [Fact]
    public void Json_escapes_in_strings_decode_to_their_utf8_bytes()
    {
        using var tensor = Decode(DataType.Bytes, [6], """["\u00fc", "a\"b", "x\ny", "\ud83d\ude00", "\\/\/", "nul\u0000"]""");
        var elements = new List<byte[]>();
        foreach (var element in BytesTensorLayout.Elements(tensor.Data))
        {
            elements.Add(element.ToArray());
        }
        Assert.Equal(
            [
                [0xC3, 0xBC],
                [(byte)'a', (byte)'"', (byte)'b'],
                [(byte)'x', (byte)'\n', (byte)'y'],
                [0xF0, 0x9F, 0x98, 0x80],
                [(byte)'\\', (byte)'/', (byte)'/'],
                [(byte)'n', (byte)'u', (byte)'l', 0],
            ],
            elements);
    }

    [Fact]
    public void Raw_non_ascii_utf8_in_strings_is_kept_as_is()
    {
        var bytes = DecodeBytes(DataType.Bytes, [1], "[\"grüße\"]");
        Assert.Equal(Encoding.UTF8.GetBytes("grüße"), bytes[4..]);
        Assert.Equal(Encoding.UTF8.GetByteCount("grüße"), BinaryPrimitives.ReadInt32LittleEndian(bytes));
    }

    [Theory]
    [InlineData(DataType.Fp32, "[1, 2]")]
    [InlineData(DataType.Bool, "[true]")]
    [InlineData(DataType.Bytes, "[\"a\", \"b\"]")]
    [InlineData(DataType.Int8, "[1]")]
    public void Too_few_elements_are_rejected(DataType type, string json)
    {
        var message = Rejected(type, [3], json);
        Assert.Matches(@"^input 'in' has \d data elements but shape \[3\] needs 3$", message);
    }

    [Theory]
    [InlineData(DataType.Fp32, "[1, 2, 3, 4]")]
    [InlineData(DataType.Bool, "[[true, true], [false, false]]")]
    [InlineData(DataType.Bytes, "[\"a\", \"b\", \"c\", \"d\"]")]
    public void Too_many_elements_are_rejected(DataType type, string json)
    {
        Assert.Equal("input 'in' has more data elements than shape [3] allows (3)", Rejected(type, [3], json));
    }

    [Theory]
    [InlineData(DataType.Fp64)]
    [InlineData(DataType.Bytes)]
    public void A_huge_shape_with_tiny_data_is_rejected_without_allocating(DataType type)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var message = Rejected(type, [100_000, 100_000], "[1]");
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal("input 'in' has shape [100000,100000] (10000000000 elements) but its data holds fewer elements", message);
        Assert.True(allocated < 64 * 1024, $"allocated {allocated} bytes");
    }

    [Fact]
    public void A_shape_whose_element_count_overflows_is_rejected()
    {
        Assert.Equal($"input 'in' has shape [{long.MaxValue},2], whose element count overflows", Rejected(DataType.Fp32, [long.MaxValue, 2], "[1]"));
    }

    [Fact]
    public void A_negative_dimension_is_rejected()
    {
        Assert.Equal("input 'in' has a negative dimension in shape [-1,2]", Rejected(DataType.Fp32, [-1, 2], "[1, 2]"));
    }

    [Fact]
    public void An_empty_shape_takes_an_empty_array()
    {
        using var tensor = Decode(DataType.Fp32, [0, 3], "[]");
        Assert.Equal(0, tensor.ByteLength);
        using var strings = Decode(DataType.Bytes, [0], "[]");
        Assert.Equal(0, strings.ByteLength);
    }

    [Fact]
    public void A_scalar_takes_a_bare_value()
    {
        Assert.Equal(new byte[] { 7, 0, 0, 0 }, DecodeBytes(DataType.Int32, [], "7"));
    }

    [Theory]
    [InlineData("0.1", 0x2E66)]
    [InlineData("65504", 0x7BFF)] // the largest finite half
    [InlineData("65519", 0x7BFF)] // below the halfway point to infinity
    [InlineData("1.0009765625", 0x3C01)] // exact: one ulp above 1
    [InlineData("1.00048828125", 0x3C00)] // halfway between 1 and 1 + ulp: ties to even
    [InlineData("6e-8", 0x0001)] // rounds to the smallest subnormal
    [InlineData("1e-8", 0x0000)] // underflows to zero
    [InlineData("-0.0", 0x8000)]
    public void Fp16_values_round_to_the_nearest_half(string json, int expectedBits)
    {
        Assert.Equal((ushort)expectedBits, BinaryPrimitives.ReadUInt16LittleEndian(DecodeBytes(DataType.Fp16, [1], $"[{json}]")));
    }

    [Theory]
    [InlineData("1.00390625", 0x3F80)] // halfway between 1 and the next bfloat16: ties to even
    [InlineData("1.01171875", 0x3F82)] // halfway between 0x3F81 and 0x3F82: ties to even
    [InlineData("3.3961e38", 0x7F7F)] // just under halfway to infinity: the largest finite bfloat16
    public void Bf16_values_round_to_the_nearest_even_bfloat16(string json, int expectedBits)
    {
        Assert.Equal((ushort)expectedBits, BinaryPrimitives.ReadUInt16LittleEndian(DecodeBytes(DataType.Bf16, [1], $"[{json}]")));
    }

    // A number past the type's range would round to infinity, a different value, which is not what the client sent:
    // it is refused naming the element. Infinity itself is sent as "Infinity".
    [Theory]
    [InlineData(DataType.Fp16, "65520", "65504")] // halfway to infinity: ties to even, which is infinity
    [InlineData(DataType.Fp16, "-1e6", "65504")]
    [InlineData(DataType.Bf16, "1e39", "3.3895314E+38")]
    [InlineData(DataType.Bf16, "3.4e38", "3.3895314E+38")] // a float, but past the largest bfloat16
    [InlineData(DataType.Fp32, "1e39", "3.4028235E+38")]
    [InlineData(DataType.Fp32, "-3.5e38", "3.4028235E+38")]
    [InlineData(DataType.Fp64, "1e400", "1.7976931348623157E+308")]
    [InlineData(DataType.Fp64, "-2e308", "1.7976931348623157E+308")]
    public void Numbers_past_the_type_range_are_rejected_naming_the_element(DataType type, string value, string max)
    {
        Assert.Equal(
            $"input 'in' element 1 is {value} but {type.ProtocolName()} needs a number from -{max} to {max} (\"Infinity\" and \"-Infinity\" stand for infinite values)",
            Rejected(type, [2], $"[1, {value}]"));
    }

    [Fact]
    public void The_largest_finite_values_are_taken()
    {
        Assert.Equal(float.MaxValue, BinaryPrimitives.ReadSingleLittleEndian(DecodeBytes(DataType.Fp32, [1], "[3.4028235e38]")));
        Assert.Equal(double.MinValue, BinaryPrimitives.ReadDoubleLittleEndian(DecodeBytes(DataType.Fp64, [1], "[-1.7976931348623157e308]")));
        Assert.Equal(float.PositiveInfinity, BinaryPrimitives.ReadSingleLittleEndian(DecodeBytes(DataType.Fp32, [1], "[\"Infinity\"]")));
    }

    [Fact]
    public void An_empty_array_for_a_non_empty_shape_is_rejected()
    {
        Assert.StartsWith("input 'in' has shape [3] (3 elements) but its data holds fewer elements", Rejected(DataType.Int8, [3], "[]"));
    }

    [Theory]
    [InlineData(DataType.Fp32, "[1, 2, true]")]
    [InlineData(DataType.Int64, "[1, 2, 1.5]")]
    [InlineData(DataType.Bytes, "[\"a\", \"b\", 3]")]
    [InlineData(DataType.Bytes, "[\"a\", \"b\", \"c\", \"d\"]")]
    [InlineData(DataType.Fp16, "[1, 2]")]
    public void A_rejected_input_returns_its_buffer_to_the_pool(DataType type, string json)
    {
        Assert.Equal(0, PooledBufferProbe.Outstanding(() => Assert.Throws<InferenceException>(() => Decode(type, [3], json))));
    }
}
