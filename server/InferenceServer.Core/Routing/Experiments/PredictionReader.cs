using System.Buffers.Binary;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Routing.Experiments;

/// <summary>
/// Reads the prediction an outcome label is compared with: the first value of the experiment's prediction output
/// (income's <c>probability</c>), from the response before it goes back to the client.
/// </summary>
internal static class PredictionReader
{
    /// <summary>
    /// The first element of output <paramref name="output"/> as a number; null when the response lacks that output
    /// (the client asked for others), it is empty, or its values are not numbers (BYTES).
    /// </summary>
    public static double? FirstValue(InferenceResponse response, string output)
    {
        ArgumentNullException.ThrowIfNull(response);
        foreach (var tensor in response.Outputs)
        {
            if (tensor.Name == output)
            {
                return First(tensor);
            }
        }
        return null;
    }

    private static double? First(Tensor tensor)
    {
        var size = tensor.DataType.ElementSize();
        if (size == 0 || tensor.ByteLength < size)
        {
            return null;
        }
        ReadOnlySpan<byte> data = tensor.Data;
        // Tensors hold their elements little-endian, as the v2 protocol's binary data does.
        return tensor.DataType switch
        {
            DataType.Fp32 => BinaryPrimitives.ReadSingleLittleEndian(data),
            DataType.Fp64 => BinaryPrimitives.ReadDoubleLittleEndian(data),
            DataType.Fp16 => (double)BinaryPrimitives.ReadHalfLittleEndian(data),
            DataType.Bf16 => BFloat16Bits.ToSingle(BinaryPrimitives.ReadUInt16LittleEndian(data)),
            DataType.Bool or DataType.UInt8 => data[0],
            DataType.Int8 => (sbyte)data[0],
            DataType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(data),
            DataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(data),
            DataType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(data),
            DataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(data),
            DataType.UInt64 => BinaryPrimitives.ReadUInt64LittleEndian(data),
            DataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(data),
            _ => null,
        };
    }
}
