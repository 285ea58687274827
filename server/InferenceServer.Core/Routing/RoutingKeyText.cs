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
/// user id sent as an INT64 tensor, a request parameter or a header routes alike.
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
    public static bool TryWriteFirst(Tensor tensor, Span<char> buffer, ref char[]? rented, out ReadOnlySpan<char> text)
    {
        ReadOnlySpan<byte> data = tensor.Data;
        text = default;
        var type = tensor.DataType;
        if (type == DataType.Bytes)
        {
            if (data.Length < BytesTensorLayout.PrefixSize)
            {
                return false;
            }
            var length = BinaryPrimitives.ReadUInt32LittleEndian(data);
            if (length > (uint)(data.Length - BytesTensorLayout.PrefixSize))
            {
                return false;
            }
            var element = data.Slice(BytesTensorLayout.PrefixSize, (int)length);
            if (!Utf8.IsValid(element))
            {
                return false;
            }
            // A UTF-8 string never has more UTF-16 characters than bytes.
            var target = buffer;
            if (element.Length > buffer.Length)
            {
                target = rented = ArrayPool<char>.Shared.Rent(element.Length);
            }
            var written = Encoding.UTF8.GetChars(element, target);
            text = target[..written];
            return true;
        }
        var size = type.ElementSize();
        if (size == 0 || data.Length < size)
        {
            return false;
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
