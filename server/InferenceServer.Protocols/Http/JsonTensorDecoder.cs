using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Protocols.Http;

/// <summary>
/// Decodes the JSON <c>data</c> of a v2 input (flat or nested arrays) straight into a pooled tensor
/// buffer in the binary layout: no boxing, no per-element objects.
/// </summary>
internal static class JsonTensorDecoder
{
    private const string FloatExpected = "a number, \"NaN\", \"Infinity\" or \"-Infinity\"";

    /// <summary>Decodes <paramref name="json"/> (one complete JSON value) as <paramref name="shape"/> elements of <paramref name="type"/>.</summary>
    public static Tensor Decode(string name, DataType type, long[] shape, ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read())
        {
            throw InferenceException.Invalid($"input '{name}' has empty data");
        }
        return Decode(name, type, shape, ref reader, json.Length);
    }

    /// <summary>
    /// Decodes the JSON value whose first token <paramref name="reader"/> is on, leaving the reader on
    /// its last token, so a request whose inputs give datatype and shape before data is read once.
    /// <paramref name="remainingBytes"/> bounds how many elements the text can possibly hold.
    /// </summary>
    public static Tensor Decode(string name, DataType type, long[] shape, ref Utf8JsonReader reader, long remainingBytes)
    {
        var count = ElementCount(name, shape);
        // Every JSON element takes at least one byte, so a shape larger than the text is a lie
        // that must not make us allocate its size.
        if (count > remainingBytes)
        {
            throw InferenceException.Invalid($"input '{name}' has shape {ShapeMath.Format(shape)} ({count} elements) but its data holds fewer elements");
        }
        // Past what one tensor holds, the size would overflow (an OverflowException, a 500) or the allocation fail.
        var bytes = type == DataType.Bytes ? count * BytesTensorLayout.PrefixSize + remainingBytes : count * type.ElementSize();
        if (bytes > Tensor.MaxByteLength)
        {
            throw new InferenceException(InferenceErrorKind.TooLarge,
                $"input '{name}' has shape {ShapeMath.Format(shape)} of {type.ProtocolName()}, up to {bytes} bytes, more than one tensor holds ({Tensor.MaxByteLength})");
        }
        return type == DataType.Bytes ? DecodeBytes(name, shape, count, ref reader) : DecodeFixed(name, type, shape, (int)count, ref reader);
    }

    private static Tensor DecodeFixed(string name, DataType type, long[] shape, int count, ref Utf8JsonReader reader)
    {
        var size = type.ElementSize();
        var tensor = Tensor.Allocate(name, type, shape, count * size);
        try
        {
            var data = tensor.Data;
            var written = 0;
            var depth = 0;
            var first = true;
            while (MoveToElement(ref reader, ref depth, ref first))
            {
                if (written == count)
                {
                    throw TooMany(name, shape, count);
                }
                WriteElement(name, type, ref reader, data.Slice(written * size, size), written);
                written++;
            }
            if (written != count)
            {
                throw InferenceException.Invalid($"input '{name}' has {written} data elements but shape {ShapeMath.Format(shape)} needs {count}");
            }
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Moves to the next element (a non-array token) of the value the reader started on, flattening
    /// nested arrays; false once the value ends, with the reader on its last token.
    /// </summary>
    private static bool MoveToElement(ref Utf8JsonReader reader, ref int depth, ref bool first)
    {
        while (true)
        {
            if (!first && (depth == 0 || !reader.Read()))
            {
                return false;
            }
            first = false;
            switch (reader.TokenType)
            {
                case JsonTokenType.StartArray:
                    depth++;
                    break;
                case JsonTokenType.EndArray:
                    depth--;
                    break;
                default:
                    return true;
            }
        }
    }

    private static void WriteElement(string name, DataType type, ref Utf8JsonReader reader, Span<byte> destination, int index)
    {
        if (type == DataType.Bool)
        {
            destination[0] = reader.TokenType switch
            {
                JsonTokenType.True => 1,
                JsonTokenType.False => 0,
                _ => throw BadElement(name, type, ref reader, index, "true or false"),
            };
            return;
        }
        var isFloat = type is DataType.Fp16 or DataType.Bf16 or DataType.Fp32 or DataType.Fp64;
        if (isFloat && reader.TokenType == JsonTokenType.String)
        {
            WriteNonFinite(name, type, ref reader, destination, index);
            return;
        }
        if (reader.TokenType != JsonTokenType.Number)
        {
            throw BadElement(name, type, ref reader, index, isFloat ? FloatExpected : "a number");
        }
        switch (type)
        {
            case DataType.Int8:
                destination[0] = (byte)checked((sbyte)ReadInteger(name, type, ref reader, index, sbyte.MinValue, sbyte.MaxValue));
                break;
            case DataType.Int16:
                BinaryPrimitives.WriteInt16LittleEndian(destination, (short)ReadInteger(name, type, ref reader, index, short.MinValue, short.MaxValue));
                break;
            case DataType.Int32:
                BinaryPrimitives.WriteInt32LittleEndian(destination, (int)ReadInteger(name, type, ref reader, index, int.MinValue, int.MaxValue));
                break;
            case DataType.Int64:
                BinaryPrimitives.WriteInt64LittleEndian(destination, ReadInteger(name, type, ref reader, index, long.MinValue, long.MaxValue));
                break;
            case DataType.UInt8:
                destination[0] = (byte)ReadUnsigned(name, type, ref reader, index, byte.MaxValue);
                break;
            case DataType.UInt16:
                BinaryPrimitives.WriteUInt16LittleEndian(destination, (ushort)ReadUnsigned(name, type, ref reader, index, ushort.MaxValue));
                break;
            case DataType.UInt32:
                BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)ReadUnsigned(name, type, ref reader, index, uint.MaxValue));
                break;
            case DataType.UInt64:
                BinaryPrimitives.WriteUInt64LittleEndian(destination, ReadUnsigned(name, type, ref reader, index, ulong.MaxValue));
                break;
            // A number is finite; one past the type's range would round to infinity, which is a different value, so it is
            // refused. Infinity is sent as a string (WriteNonFinite).
            case DataType.Fp16:
                var half = (Half)ReadDouble(name, type, ref reader, index);
                if (!Half.IsFinite(half))
                {
                    throw OutOfRange(name, type, ref reader, index);
                }
                BinaryPrimitives.WriteHalfLittleEndian(destination, half);
                break;
            case DataType.Bf16:
                var bf16 = BFloat16Bits.FromSingle((float)ReadDouble(name, type, ref reader, index));
                if (!float.IsFinite(BFloat16Bits.ToSingle(bf16)))
                {
                    throw OutOfRange(name, type, ref reader, index);
                }
                BinaryPrimitives.WriteUInt16LittleEndian(destination, bf16);
                break;
            case DataType.Fp32:
                // Parsing straight to float is faster than through double and rounds once, not twice.
                if (!reader.TryGetSingle(out var single) || !float.IsFinite(single))
                {
                    throw OutOfRange(name, type, ref reader, index);
                }
                BinaryPrimitives.WriteSingleLittleEndian(destination, single);
                break;
            case DataType.Fp64:
                var value = ReadDouble(name, type, ref reader, index);
                if (!double.IsFinite(value))
                {
                    throw OutOfRange(name, type, ref reader, index);
                }
                BinaryPrimitives.WriteDoubleLittleEndian(destination, value);
                break;
            default:
                throw InferenceException.Invalid($"input '{name}' has unsupported datatype {type.ProtocolName()}");
        }
    }

    // JSON has no NaN or infinity; the encoder writes them as these strings (JsonTensorEncoder), and they must read back.
    private static void WriteNonFinite(string name, DataType type, ref Utf8JsonReader reader, Span<byte> destination, int index)
    {
        // Comparing escaped text unescapes it, which throws for an unpaired surrogate (JsonText).
        if (reader.ValueIsEscaped && !JsonText.TryRead(ref reader, out _))
        {
            throw InferenceException.Invalid($"input '{name}' element {index} is {JsonText.NotUtf8}");
        }
        var value = reader.ValueTextEquals("NaN") ? double.NaN
            : reader.ValueTextEquals("Infinity") ? double.PositiveInfinity
            : reader.ValueTextEquals("-Infinity") ? double.NegativeInfinity
            : throw BadElement(name, type, ref reader, index, FloatExpected);
        switch (type)
        {
            case DataType.Fp16:
                BinaryPrimitives.WriteHalfLittleEndian(destination, (Half)value);
                break;
            case DataType.Bf16:
                BinaryPrimitives.WriteUInt16LittleEndian(destination, BFloat16Bits.FromSingle((float)value));
                break;
            case DataType.Fp32:
                BinaryPrimitives.WriteSingleLittleEndian(destination, (float)value);
                break;
            default:
                BinaryPrimitives.WriteDoubleLittleEndian(destination, value);
                break;
        }
    }

    private static long ReadInteger(string name, DataType type, ref Utf8JsonReader reader, int index, long min, long max)
    {
        if (!reader.TryGetInt64(out var value) || value < min || value > max)
        {
            throw BadElement(name, type, ref reader, index, $"an integer from {min} to {max}");
        }
        return value;
    }

    private static ulong ReadUnsigned(string name, DataType type, ref Utf8JsonReader reader, int index, ulong max)
    {
        if (!reader.TryGetUInt64(out var value) || value > max)
        {
            throw BadElement(name, type, ref reader, index, $"an integer from 0 to {max}");
        }
        return value;
    }

    private static double ReadDouble(string name, DataType type, ref Utf8JsonReader reader, int index)
    {
        if (!reader.TryGetDouble(out var value))
        {
            throw BadElement(name, type, ref reader, index, FloatExpected);
        }
        return value;
    }

    private static Tensor DecodeBytes(string name, long[] shape, long count, ref Utf8JsonReader reader)
    {
        // Measure the value's text on a copy of the reader: unescaped strings are never longer
        // than their JSON text, so prefixes plus that length always suffice.
        var probe = reader;
        probe.Skip();
        var textLength = probe.BytesConsumed - reader.TokenStartIndex;
        var capacity = checked((int)(count * BytesTensorLayout.PrefixSize + textLength));
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, capacity));
        try
        {
            var written = 0L;
            var offset = 0;
            var depth = 0;
            var first = true;
            while (MoveToElement(ref reader, ref depth, ref first))
            {
                if (reader.TokenType != JsonTokenType.String)
                {
                    throw BadElement(name, DataType.Bytes, ref reader, (int)written, "a string");
                }
                if (written == count)
                {
                    throw TooMany(name, shape, count);
                }
                if (!JsonText.TryCopy(ref reader, buffer.AsSpan(offset + BytesTensorLayout.PrefixSize), out var length))
                {
                    throw InferenceException.Invalid($"input '{name}' element {written} is {JsonText.NotUtf8}");
                }
                BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(offset), (uint)length);
                offset += BytesTensorLayout.PrefixSize + length;
                written++;
            }
            if (written != count)
            {
                throw InferenceException.Invalid($"input '{name}' has {written} data elements but shape {ShapeMath.Format(shape)} needs {count}");
            }
            return Tensor.Adopt(name, DataType.Bytes, shape, buffer, offset);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private static long ElementCount(string name, long[] shape)
    {
        foreach (var dim in shape)
        {
            if (dim < 0)
            {
                throw InferenceException.Invalid($"input '{name}' has a negative dimension in shape {ShapeMath.Format(shape)}");
            }
        }
        try
        {
            return ShapeMath.ElementCount(shape);
        }
        catch (OverflowException)
        {
            throw InferenceException.Invalid($"input '{name}' has shape {ShapeMath.Format(shape)}, whose element count overflows");
        }
    }

    // The largest finite value of each floating-point type, as a client would write it.
    private static InferenceException OutOfRange(string name, DataType type, ref Utf8JsonReader reader, int index)
    {
        var max = type switch
        {
            DataType.Fp16 => "65504",
            DataType.Bf16 => "3.3895314E+38",
            DataType.Fp32 => "3.4028235E+38",
            _ => "1.7976931348623157E+308",
        };
        return BadElement(name, type, ref reader, index, $"a number from -{max} to {max} (\"Infinity\" and \"-Infinity\" stand for infinite values)");
    }

    private static InferenceException TooMany(string name, long[] shape, long count) =>
        InferenceException.Invalid($"input '{name}' has more data elements than shape {ShapeMath.Format(shape)} allows ({count})");

    private static InferenceException BadElement(string name, DataType type, ref Utf8JsonReader reader, int index, string expected)
    {
        var text = System.Text.Encoding.UTF8.GetString(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan);
        if (reader.TokenType == JsonTokenType.String)
        {
            text = $"\"{text}\"";
        }
        return InferenceException.Invalid($"input '{name}' element {index} is {text} but {type.ProtocolName()} needs {expected}");
    }
}
