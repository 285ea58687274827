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
}
