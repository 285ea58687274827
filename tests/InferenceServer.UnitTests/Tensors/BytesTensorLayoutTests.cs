using System.Text;
using InferenceServer.Core.Tensors;

namespace InferenceServer.UnitTests.Tensors;

public sealed class BytesTensorLayoutTests
{
    private static byte[] Layout(params byte[][] elements)
    {
        var buffer = new byte[elements.Sum(e => e.Length + BytesTensorLayout.PrefixSize)];
        var offset = 0;
        foreach (var element in elements)
        {
            offset += BytesTensorLayout.WriteElement(buffer.AsSpan(offset), element);
        }
        Assert.Equal(buffer.Length, offset);
        return buffer;
    }

    private static List<byte[]> Read(byte[] data)
    {
        var elements = new List<byte[]>();
        foreach (var element in BytesTensorLayout.Elements(data))
        {
            elements.Add(element.ToArray());
        }
        return elements;
    }

    [Fact]
    public void Write_element_puts_a_little_endian_length_before_the_bytes()
    {
        var destination = new byte[8];
        var written = BytesTensorLayout.WriteElement(destination, "abc"u8);
        Assert.Equal(7, written);
        Assert.Equal(new byte[] { 3, 0, 0, 0, (byte)'a', (byte)'b', (byte)'c', 0 }, destination);
    }

    [Fact]
    public void Zero_elements_is_empty_data()
    {
        Assert.True(BytesTensorLayout.TryCountElements([], out var count, out var error));
        Assert.Equal(0, count);
        Assert.Null(error);
        Assert.Empty(Read([]));
    }

    [Fact]
    public void Empty_strings_are_elements_of_their_own()
    {
        var data = Layout([], [], "x"u8.ToArray(), []);
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, (byte)'x', 0, 0, 0, 0 }, data);
        Assert.True(BytesTensorLayout.TryCountElements(data, out var count, out _));
        Assert.Equal(4, count);
        var elements = Read(data);
        Assert.Equal(4, elements.Count);
        Assert.Empty(elements[0]);
        Assert.Equal("x"u8.ToArray(), elements[2]);
        Assert.Empty(elements[3]);
    }

    [Fact]
    public void Non_ascii_and_embedded_nul_bytes_round_trip_unchanged()
    {
        var umlaut = Encoding.UTF8.GetBytes("grüße 😀");
        var withNul = new byte[] { (byte)'a', 0, (byte)'b', 0 };
        var notUtf8 = new byte[] { 0xFF, 0xFE, 0x00, 0x80 };
        var data = Layout(umlaut, withNul, notUtf8);
        Assert.True(BytesTensorLayout.TryCountElements(data, out var count, out _));
        Assert.Equal(3, count);
        var elements = Read(data);
        Assert.Equal(umlaut, elements[0]);
        Assert.Equal(withNul, elements[1]);
        Assert.Equal(notUtf8, elements[2]);
    }

    [Fact]
    public void Many_elements_of_varying_length_round_trip()
    {
        var originals = Enumerable.Range(0, 1000).Select(i => Enumerable.Repeat((byte)i, i % 37).ToArray()).ToArray();
        var data = Layout(originals);
        Assert.True(BytesTensorLayout.TryCountElements(data, out var count, out _));
        Assert.Equal(1000, count);
        Assert.Equal(originals, Read(data));
    }

    [Fact]
    public void A_large_element_round_trips()
    {
        var big = new byte[300_000];
        new Random(7).NextBytes(big);
        var data = Layout(big);
        Assert.Equal(big.Length + 4, data.Length);
        Assert.Equal([big], Read(data));
    }

    [Theory]
    [InlineData(new byte[] { 1 }, 0, 1)]
    [InlineData(new byte[] { 1, 0, 0 }, 0, 3)]
    [InlineData(new byte[] { 1, 0, 0, 0, 9, 0, 0 }, 1, 2)]
    public void A_truncated_length_prefix_is_reported(byte[] data, int element, int left)
    {
        Assert.False(BytesTensorLayout.TryCountElements(data, out _, out var error));
        Assert.Equal($"element {element} has a truncated 4-byte length prefix ({left} bytes left)", error);
    }

    [Fact]
    public void A_length_past_the_end_is_reported()
    {
        byte[] data = [5, 0, 0, 0, (byte)'a', (byte)'b'];
        Assert.False(BytesTensorLayout.TryCountElements(data, out _, out var error));
        Assert.Equal("element 0 declares 5 bytes but only 2 remain", error);
    }

    [Fact]
    public void A_later_element_past_the_end_names_its_index()
    {
        var data = Layout("ok"u8.ToArray(), "fine"u8.ToArray()).Concat(new byte[] { 2, 0, 0, 0, (byte)'z' }).ToArray();
        Assert.False(BytesTensorLayout.TryCountElements(data, out _, out var error));
        Assert.Equal("element 2 declares 2 bytes but only 1 remain", error);
    }

    [Fact]
    public void A_length_near_uint_max_does_not_wrap_around()
    {
        byte[] data = [0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3];
        Assert.False(BytesTensorLayout.TryCountElements(data, out _, out var error));
        Assert.Equal("element 0 declares 4294967295 bytes but only 3 remain", error);

        byte[] justOver = [0xFC, 0xFF, 0xFF, 0x7F, 1, 2, 3];
        Assert.False(BytesTensorLayout.TryCountElements(justOver, out _, out _));
    }
}
