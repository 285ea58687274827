using System.Buffers.Binary;
using InferenceServer.Core.Routing;
using InferenceServer.Core.Tensors;

namespace InferenceServer.UnitTests.Routing;

/// <summary>An input tensor's first element as routing-key text: spelt as a parameter would be, or no key when there is none.</summary>
public sealed class RoutingKeyTextTests
{
    private static string? Text(DataType type, byte[] data)
    {
        using var tensor = Tensor.Copy("k", type, [data.Length == 0 ? 0 : 1], data);
        Span<char> buffer = stackalloc char[RoutingKeyText.NumberLength];
        char[]? rented = null;
        var found = RoutingKeyText.TryWriteFirst(tensor, buffer, ref rented, out var text);
        var result = found ? text.ToString() : null;
        if (rented is not null)
        {
            System.Buffers.ArrayPool<char>.Shared.Return(rented);
        }
        return result;
    }

    private static byte[] Bytes<T>(params T[] values) where T : unmanaged =>
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    [Fact]
    public void Numbers_and_booleans_are_written_as_a_parameter_spells_them()
    {
        Assert.Equal("42", Text(DataType.Int64, Bytes(42L, 7L)));
        Assert.Equal("-3", Text(DataType.Int32, Bytes(-3)));
        Assert.Equal("65535", Text(DataType.UInt16, Bytes((ushort)65535)));
        Assert.Equal("200", Text(DataType.UInt8, [200]));
        Assert.Equal("-1", Text(DataType.Int8, [0xFF]));
        Assert.Equal("18446744073709551615", Text(DataType.UInt64, Bytes(ulong.MaxValue)));
        Assert.Equal("0.1", Text(DataType.Fp32, Bytes(0.1f)));
        Assert.Equal("0.1", Text(DataType.Fp64, Bytes(0.1)));
        Assert.Equal("-1.7976931348623157E+308", Text(DataType.Fp64, Bytes(double.MinValue)));
        Assert.Equal("1.5", Text(DataType.Fp16, Bytes((Half)1.5)));
        Assert.Equal("2", Text(DataType.Bf16, Bytes(BFloat16Bits.FromSingle(2f))));
        Assert.Equal("true", Text(DataType.Bool, [1, 0]));
        Assert.Equal("false", Text(DataType.Bool, [0]));
    }

    [Fact]
    public void A_string_element_is_its_text_however_long()
    {
        var element = "user-ü-7"u8.ToArray();
        var data = new byte[4 + element.Length + 4];
        BinaryPrimitives.WriteUInt32LittleEndian(data, (uint)element.Length);
        element.CopyTo(data, 4);
        Assert.Equal("user-ü-7", Text(DataType.Bytes, data));

        var longKey = new string('k', 300);
        var longData = new byte[4 + 300];
        BinaryPrimitives.WriteUInt32LittleEndian(longData, 300);
        System.Text.Encoding.UTF8.GetBytes(longKey).CopyTo(longData, 4);
        Assert.Equal(longKey, Text(DataType.Bytes, longData));
    }

    [Fact]
    public void A_tensor_without_a_whole_first_element_has_no_key()
    {
        Assert.Null(Text(DataType.Int64, [1, 2, 3]));
        Assert.Null(Text(DataType.Int32, []));
        Assert.Null(Text(DataType.Bytes, [5, 0, 0, 0, (byte)'a']));
        Assert.Null(Text(DataType.Bytes, [1, 0]));
        Assert.Null(Text(DataType.Bytes, [1, 0, 0, 0, 0xC3]));
    }

    private static long OtherRow(DataType type, long[] shape, byte[] data)
    {
        using var tensor = Tensor.Copy("k", type, shape, data);
        return RoutingKeyText.FirstRowWithOtherKey(tensor);
    }

    private static byte[] Strings(params string[] values)
    {
        var data = new List<byte>();
        foreach (var value in values)
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(value);
            data.AddRange(BitConverter.GetBytes((uint)bytes.Length));
            data.AddRange(bytes);
        }
        return [.. data];
    }

    [Fact]
    public void A_batch_whose_rows_carry_other_keys_names_the_first_such_row()
    {
        Assert.Equal(2, OtherRow(DataType.Int64, [3, 1], Bytes(5L, 5L, 6L)));
        // A row's key is its first element; the rest of the row is not a key.
        Assert.Equal(-1, OtherRow(DataType.Int32, [2, 2], Bytes(7, 1, 7, 2)));
        Assert.Equal(1, OtherRow(DataType.Int32, [2, 2], Bytes(7, 1, 8, 1)));
        Assert.Equal(1, OtherRow(DataType.Bytes, [2, 1], Strings("user-1", "user-2")));
        Assert.Equal(2, OtherRow(DataType.Bytes, [3, 2], Strings("u", "x", "u", "y", "v", "x")));
        Assert.Equal(1, OtherRow(DataType.Fp32, [2, 1], Bytes(0.25f, 0.5f)));
    }

    [Fact]
    public void A_batch_of_one_key_or_of_one_row_or_without_its_elements_has_no_other_key()
    {
        Assert.Equal(-1, OtherRow(DataType.Int64, [3, 1], Bytes(5L, 5L, 5L)));
        Assert.Equal(-1, OtherRow(DataType.Bytes, [2, 1], Strings("user-1", "user-1")));
        Assert.Equal(-1, OtherRow(DataType.Int64, [1, 3], Bytes(5L, 6L, 7L)));
        Assert.Equal(-1, OtherRow(DataType.Int64, [0, 1], []));
        // Bytes that differ but read as one key: 1 and 2 are both true.
        Assert.Equal(-1, OtherRow(DataType.Bool, [2, 1], [1, 2]));
        // Fewer elements than the shape says: the model refuses the input, routing does not judge it.
        Assert.Equal(-1, OtherRow(DataType.Int64, [3, 1], Bytes(5L, 6L)));
        Assert.Equal(-1, OtherRow(DataType.Bytes, [2, 1], [1, 0, 0, 0, (byte)'a', 9, 0, 0, 0]));
    }
}
