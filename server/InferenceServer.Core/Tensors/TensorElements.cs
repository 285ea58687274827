using System.Buffers.Binary;

namespace InferenceServer.Core.Tensors;

/// <summary>Reads one element of a numeric tensor's data, whatever its type, as a double, for comparing answers.</summary>
internal static class TensorElements
{
    /// <summary>
    /// Element <paramref name="index"/> of <paramref name="data"/> laid out as the v2 binary format lays out
    /// <paramref name="type"/> (little-endian, BOOL one byte). Every integer and float fits a double closely enough for a
    /// difference (64-bit integers beyond 2^53 round, which a mean difference does not notice).
    /// </summary>
    public static double ToDouble(DataType type, ReadOnlySpan<byte> data, int index) => type switch
    {
        DataType.Fp32 => BinaryPrimitives.ReadSingleLittleEndian(data[(index * 4)..]),
        DataType.Fp64 => BinaryPrimitives.ReadDoubleLittleEndian(data[(index * 8)..]),
        DataType.Fp16 => (double)BinaryPrimitives.ReadHalfLittleEndian(data[(index * 2)..]),
        DataType.Bf16 => BFloat16Bits.ToSingle(BinaryPrimitives.ReadUInt16LittleEndian(data[(index * 2)..])),
        DataType.Bool => data[index] != 0 ? 1 : 0,
        DataType.UInt8 => data[index],
        DataType.Int8 => (sbyte)data[index],
        DataType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(data[(index * 2)..]),
        DataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(data[(index * 2)..]),
        DataType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(data[(index * 4)..]),
        DataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(data[(index * 4)..]),
        DataType.UInt64 => BinaryPrimitives.ReadUInt64LittleEndian(data[(index * 8)..]),
        DataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(data[(index * 8)..]),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a numeric element type"),
    };
}
