using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Google.Protobuf.Collections;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;
using InferenceServer.Protocols.Grpc.Messages;
using DataType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.Protocols.Grpc;

/// <summary>
/// Turns an input's typed <c>InferTensorContents</c> into a tensor in the little-endian layout the core uses. Each
/// datatype has one list it must come in (INT8/16/32 share <c>int_contents</c>, UINT8/16/32 <c>uint_contents</c>);
/// FP16 and BF16 have none and must come as raw contents.
/// </summary>
internal static class TensorContentsDecoder
{
    public static Tensor Decode(string name, DataType type, long[] shape, InferTensorContents contents)
    {
        var count = ShapeMath.ElementCount(shape);
        return type switch
        {
            DataType.Bool => Fixed(name, type, shape, count, contents.BoolContents, "bool_contents", static (span, i, v) => span[i] = v ? (byte)1 : (byte)0),
            DataType.Int8 => Fixed(name, type, shape, count, contents.IntContents, "int_contents", static (span, i, v) => span[i] = (byte)checked((sbyte)v)),
            DataType.Int16 => Fixed(name, type, shape, count, contents.IntContents, "int_contents", static (span, i, v) => BinaryPrimitives.WriteInt16LittleEndian(span[(2 * i)..], checked((short)v))),
            DataType.Int32 => Copy(name, type, shape, count, contents.IntContents, "int_contents"),
            DataType.Int64 => Copy(name, type, shape, count, contents.Int64Contents, "int64_contents"),
            DataType.UInt8 => Fixed(name, type, shape, count, contents.UintContents, "uint_contents", static (span, i, v) => span[i] = checked((byte)v)),
            DataType.UInt16 => Fixed(name, type, shape, count, contents.UintContents, "uint_contents", static (span, i, v) => BinaryPrimitives.WriteUInt16LittleEndian(span[(2 * i)..], checked((ushort)v))),
            DataType.UInt32 => Copy(name, type, shape, count, contents.UintContents, "uint_contents"),
            DataType.UInt64 => Copy(name, type, shape, count, contents.Uint64Contents, "uint64_contents"),
            DataType.Fp32 => Copy(name, type, shape, count, contents.Fp32Contents, "fp32_contents"),
            DataType.Fp64 => Copy(name, type, shape, count, contents.Fp64Contents, "fp64_contents"),
            DataType.Bytes => Bytes(name, shape, count, contents.BytesContents),
            _ => throw InferenceException.Invalid($"input '{name}': {type.ProtocolName()} has no typed contents in the protocol; send it in raw_input_contents"),
        };
    }

    /// <summary>Which list of <c>InferTensorContents</c> carries data, for error messages; null when none does.</summary>
    public static string? UsedList(InferTensorContents contents) =>
        contents.BoolContents.Count > 0 ? "bool_contents"
        : contents.IntContents.Count > 0 ? "int_contents"
        : contents.Int64Contents.Count > 0 ? "int64_contents"
        : contents.UintContents.Count > 0 ? "uint_contents"
        : contents.Uint64Contents.Count > 0 ? "uint64_contents"
        : contents.Fp32Contents.Count > 0 ? "fp32_contents"
        : contents.Fp64Contents.Count > 0 ? "fp64_contents"
        : contents.BytesContents.Count > 0 ? "bytes_contents"
        : null;

    // Element types whose little-endian bytes are the tensor's layout: one block copy (the machine is little-endian).
    private static Tensor Copy<T>(string name, DataType type, long[] shape, long count, RepeatedField<T> values, string list)
        where T : unmanaged
    {
        CheckCount(name, type, count, values.Count, list);
        var tensor = Tensor.Allocate(name, type, shape, checked((int)count * type.ElementSize()));
        var data = tensor.Data;
        var size = type.ElementSize();
        for (var i = 0; i < values.Count; i++)
        {
            var value = values[i];
            MemoryMarshal.Write(data[(i * size)..], in value);
        }
        return tensor;
    }

    private delegate void Store<in T>(Span<byte> data, int index, T value);

    private static Tensor Fixed<T>(string name, DataType type, long[] shape, long count, RepeatedField<T> values, string list, Store<T> store)
    {
        CheckCount(name, type, count, values.Count, list);
        var tensor = Tensor.Allocate(name, type, shape, checked((int)count * type.ElementSize()));
        try
        {
            var data = tensor.Data;
            for (var i = 0; i < values.Count; i++)
            {
                store(data, i, values[i]);
            }
            return tensor;
        }
        catch (OverflowException)
        {
            tensor.Dispose();
            throw InferenceException.Invalid($"input '{name}': a value in {list} is out of range for {type.ProtocolName()}");
        }
    }

    private static Tensor Bytes(string name, long[] shape, long count, RepeatedField<Google.Protobuf.ByteString> values)
    {
        CheckCount(name, DataType.Bytes, count, values.Count, "bytes_contents");
        long length = 0;
        foreach (var value in values)
        {
            length += BytesTensorLayout.PrefixSize + value.Length;
        }
        if (length > int.MaxValue)
        {
            throw new InferenceException(InferenceErrorKind.TooLarge, $"input '{name}': {length} bytes of BYTES elements is over 2 GiB");
        }
        var tensor = Tensor.Allocate(name, DataType.Bytes, shape, (int)length);
        var offset = 0;
        foreach (var value in values)
        {
            offset += BytesTensorLayout.WriteElement(tensor.Data[offset..], value.Span);
        }
        return tensor;
    }

    private static void CheckCount(string name, DataType type, long expected, int actual, string list)
    {
        if (actual != expected)
        {
            throw InferenceException.Invalid(actual == 0
                ? $"input '{name}' of datatype {type.ProtocolName()} has no data in {list}"
                : $"input '{name}' has {actual} values in {list} but its shape holds {expected} elements");
        }
    }
}
