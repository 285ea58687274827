using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Unicode;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Routing;

/// <summary>
/// The first element of an input tensor as the text a routing key is hashed from, written into a caller's buffer so
/// that reading it allocates nothing. Numbers are written as a parameter spells them (<c>42</c>, <c>0.5</c>), so a
/// user id sent as an INT64 tensor, a request parameter or a header routes alike. A batch's rows each carry a key of
/// their own (the first element of the row); <see cref="FirstRowWithOtherKey"/> finds one that differs from row 0's.
/// </summary>
internal static class RoutingKeyText
{
    /// <summary>The longest text a number or boolean writes (a double's shortest round-trip form is at most 24 characters).</summary>
    public const int NumberLength = 32;

    /// <summary>
    /// Writes the first element of <paramref name="tensor"/> as text into <paramref name="buffer"/> (at least
    /// <see cref="NumberLength"/> long), or into an array rented from the shared pool when a string element does not
    /// fit (returned in <paramref name="rented"/>; the caller returns it). False when the tensor has no whole first
    /// element or its string is not UTF-8: such a request has no key, and the model refuses its input anyway.
    /// </summary>
    public static bool TryWriteFirst(Tensor tensor, Span<char> buffer, ref char[]? rented, out ReadOnlySpan<char> text) =>
        TryWrite(tensor, 0, buffer, ref rented, out text);

    /// <summary>
    /// The first row of <paramref name="tensor"/>, its first dimension taken as the batch, whose key (the row's first
    /// element, as text) is not row 0's; -1 when every row has row 0's key, the tensor has fewer than two rows, or its
    /// data does not hold the elements its shape says (the model refuses such an input anyway). Allocates nothing while
    /// the keys' bytes are equal, which is what a request of one user's rows has.
    /// </summary>
    public static long FirstRowWithOtherKey(Tensor tensor)
    {
        var shape = tensor.Shape;
        if (shape.Length == 0 || shape[0] < 2)
        {
            return -1;
        }
        long count;
        try
        {
            count = tensor.ElementCount;
        }
        catch (OverflowException)
        {
            return -1;
        }
        var rows = shape[0];
        if (count == 0 || count % rows != 0)
        {
            return -1;
        }
        var stride = count / rows;
        var type = tensor.DataType;
        var size = type.ElementSize();
        ReadOnlySpan<byte> data = tensor.Data;
        if (!TryElement(type, data, 0, size, out var first) || (type != DataType.Bytes && data.Length / size < count))
        {
            return -1;
        }
        if (type == DataType.Bytes)
        {
            // One walk over the length-prefixed elements, looking at each row's first.
            var offset = 0;
            for (var i = 0L; i < count; i++)
            {
                if (data.Length - offset < BytesTensorLayout.PrefixSize)
                {
                    return -1;
                }
                var length = BinaryPrimitives.ReadUInt32LittleEndian(data[offset..]);
                offset += BytesTensorLayout.PrefixSize;
                if (length > (uint)(data.Length - offset))
                {
                    return -1;
                }
                if (i % stride == 0 && !data.Slice(offset, (int)length).SequenceEqual(first))
                {
                    return i / stride;
                }
                offset += (int)length;
            }
            return -1;
        }
        for (var row = 1L; row < rows; row++)
        {
            if (!TryElement(type, data, row * stride, size, out var element))
            {
                return -1;
            }
            // Equal bytes are the same key; unequal ones may still read alike (a boolean's 1 and 2, a NaN's payload).
            if (!element.SequenceEqual(first) && !string.Equals(KeyText(tensor, 0), KeyText(tensor, row * stride), StringComparison.Ordinal))
            {
                return row;
            }
        }
        return -1;
    }

    /// <summary>Element <paramref name="index"/> of <paramref name="tensor"/> as key text, for messages; null when it cannot be read.</summary>
    public static string? KeyText(Tensor tensor, long index)
    {
        Span<char> buffer = stackalloc char[NumberLength];
        char[]? rented = null;
        var found = TryWrite(tensor, index, buffer, ref rented, out var text);
        var result = found ? text.ToString() : null;
        if (rented is not null)
        {
            ArrayPool<char>.Shared.Return(rented);
        }
        return result;
    }

    // Element index's bytes (a BYTES element without its length prefix); false when the data does not hold it.
    private static bool TryElement(DataType type, ReadOnlySpan<byte> data, long index, int size, out ReadOnlySpan<byte> element)
    {
        element = default;
        if (type != DataType.Bytes)
        {
            if (size == 0 || index >= data.Length / size)
            {
                return false;
            }
            element = data.Slice((int)(index * size), size);
            return true;
        }
        var offset = 0;
        for (var i = 0L; ; i++)
        {
            if (data.Length - offset < BytesTensorLayout.PrefixSize)
            {
                return false;
            }
            var length = BinaryPrimitives.ReadUInt32LittleEndian(data[offset..]);
            offset += BytesTensorLayout.PrefixSize;
            if (length > (uint)(data.Length - offset))
            {
                return false;
            }
            if (i == index)
            {
                element = data.Slice(offset, (int)length);
                return true;
            }
            offset += (int)length;
        }
    }

    private static bool TryWrite(Tensor tensor, long index, Span<char> buffer, ref char[]? rented, out ReadOnlySpan<char> text)
    {
        text = default;
        var type = tensor.DataType;
        var size = type.ElementSize();
        if (!TryElement(type, tensor.Data, index, size, out var data))
        {
            return false;
        }
        if (type == DataType.Bytes)
        {
            if (!Utf8.IsValid(data))
            {
                return false;
            }
            // A UTF-8 string never has more UTF-16 characters than bytes.
            var target = buffer;
            if (data.Length > buffer.Length)
            {
                target = rented = ArrayPool<char>.Shared.Rent(data.Length);
            }
            var written = Encoding.UTF8.GetChars(data, target);
            text = target[..written];
            return true;
        }
        var invariant = CultureInfo.InvariantCulture;
        int count;
        var done = type switch
        {
            DataType.Bool => TryWriteBool(data[0] != 0, buffer, out count),
            DataType.UInt8 => data[0].TryFormat(buffer, out count, default, invariant),
            DataType.Int8 => ((sbyte)data[0]).TryFormat(buffer, out count, default, invariant),
            DataType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(data).TryFormat(buffer, out count, default, invariant),
            DataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(data).TryFormat(buffer, out count, default, invariant),
            DataType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(data).TryFormat(buffer, out count, default, invariant),
            DataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(data).TryFormat(buffer, out count, default, invariant),
            DataType.UInt64 => BinaryPrimitives.ReadUInt64LittleEndian(data).TryFormat(buffer, out count, default, invariant),
            DataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(data).TryFormat(buffer, out count, default, invariant),
            DataType.Fp16 => BinaryPrimitives.ReadHalfLittleEndian(data).TryFormat(buffer, out count, default, invariant),
            DataType.Bf16 => BFloat16Bits.ToSingle(BinaryPrimitives.ReadUInt16LittleEndian(data)).TryFormat(buffer, out count, default, invariant),
            DataType.Fp32 => BinaryPrimitives.ReadSingleLittleEndian(data).TryFormat(buffer, out count, default, invariant),
            DataType.Fp64 => BinaryPrimitives.ReadDoubleLittleEndian(data).TryFormat(buffer, out count, default, invariant),
            _ => Nothing(out count),
        };
        text = buffer[..count];
        return done;
    }

    private static bool TryWriteBool(bool value, Span<char> buffer, out int count)
    {
        var word = value ? "true" : "false";
        word.CopyTo(buffer);
        count = word.Length;
        return true;
    }

    private static bool Nothing(out int count)
    {
        count = 0;
        return false;
    }
}
