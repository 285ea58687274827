using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Unicode;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Protocols.Http;

/// <summary>Writes a tensor's elements as a flat JSON array, the form the v2 protocol returns.</summary>
internal static class JsonTensorEncoder
{
    /// <summary>Writes <c>[e0, e1, ...]</c>. FP16 and BF16 are written as numbers; non-finite floats as the strings "NaN", "Infinity", "-Infinity".</summary>
    public static void WriteData(Utf8JsonWriter writer, Tensor tensor) => WriteData(writer, tensor, tensor.Data, array: true);

    /// <summary>
    /// Writes the elements of <paramref name="tensor"/> that <paramref name="data"/> holds (a row of it, say, in its
    /// layout): as an array, or when not <paramref name="array"/> the one element alone.
    /// </summary>
    public static void WriteData(Utf8JsonWriter writer, Tensor tensor, ReadOnlySpan<byte> data, bool array)
    {
        if (array)
        {
            writer.WriteStartArray();
        }
        switch (tensor.DataType)
        {
            case DataType.Bool:
                foreach (var b in data)
                {
                    writer.WriteBooleanValue(b != 0);
                }
                break;
            case DataType.UInt8:
                foreach (var b in data)
                {
                    writer.WriteNumberValue(b);
                }
                break;
            case DataType.Int8:
                foreach (var b in data)
                {
                    writer.WriteNumberValue((sbyte)b);
                }
                break;
            case DataType.UInt16:
                for (var i = 0; i < data.Length; i += 2)
                {
                    writer.WriteNumberValue(BinaryPrimitives.ReadUInt16LittleEndian(data[i..]));
                }
                break;
            case DataType.Int16:
                for (var i = 0; i < data.Length; i += 2)
                {
                    writer.WriteNumberValue(BinaryPrimitives.ReadInt16LittleEndian(data[i..]));
                }
                break;
            case DataType.UInt32:
                for (var i = 0; i < data.Length; i += 4)
                {
                    writer.WriteNumberValue(BinaryPrimitives.ReadUInt32LittleEndian(data[i..]));
                }
                break;
            case DataType.Int32:
                for (var i = 0; i < data.Length; i += 4)
                {
                    writer.WriteNumberValue(BinaryPrimitives.ReadInt32LittleEndian(data[i..]));
                }
                break;
            case DataType.UInt64:
                for (var i = 0; i < data.Length; i += 8)
                {
                    writer.WriteNumberValue(BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
                }
                break;
            case DataType.Int64:
                for (var i = 0; i < data.Length; i += 8)
                {
                    writer.WriteNumberValue(BinaryPrimitives.ReadInt64LittleEndian(data[i..]));
                }
                break;
            case DataType.Fp16:
                for (var i = 0; i < data.Length; i += 2)
                {
                    WriteFloat(writer, (float)BinaryPrimitives.ReadHalfLittleEndian(data[i..]));
                }
                break;
            case DataType.Bf16:
                for (var i = 0; i < data.Length; i += 2)
                {
                    WriteFloat(writer, BFloat16Bits.ToSingle(BinaryPrimitives.ReadUInt16LittleEndian(data[i..])));
                }
                break;
            case DataType.Fp32:
                for (var i = 0; i < data.Length; i += 4)
                {
                    WriteFloat(writer, BinaryPrimitives.ReadSingleLittleEndian(data[i..]));
                }
                break;
            case DataType.Fp64:
                for (var i = 0; i < data.Length; i += 8)
                {
                    WriteDouble(writer, BinaryPrimitives.ReadDoubleLittleEndian(data[i..]));
                }
                break;
            case DataType.Bytes:
                foreach (var element in BytesTensorLayout.Elements(data))
                {
                    if (!Utf8.IsValid(element))
                    {
                        throw InferenceException.Invalid($"output '{tensor.Name}' holds bytes that are not valid UTF-8 and cannot be written as a JSON string; request it with \"binary_data\": true");
                    }
                    writer.WriteStringValue(element);
                }
                break;
            default:
                throw new InferenceException(InferenceErrorKind.Internal, $"output '{tensor.Name}' has unsupported datatype {tensor.DataType}");
        }
        if (array)
        {
            writer.WriteEndArray();
        }
    }

    private static void WriteFloat(Utf8JsonWriter writer, float value)
    {
        if (float.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            WriteNonFinite(writer, value);
        }
    }

    private static void WriteDouble(Utf8JsonWriter writer, double value)
    {
        if (double.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            WriteNonFinite(writer, value);
        }
    }

    private static void WriteNonFinite(Utf8JsonWriter writer, double value) =>
        writer.WriteStringValue(double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
}
