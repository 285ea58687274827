namespace InferenceServer.LoadTest.Inputs;

/// <summary>The v2 protocol's datatypes and their sizes in the binary tensor layout (little-endian, row-major).</summary>
internal static class TensorTypes
{
    /// <summary>Bytes per element; 0 for BYTES, whose elements carry their own 4-byte length.</summary>
    public static int ElementSize(string datatype) => datatype switch
    {
        "BOOL" or "UINT8" or "INT8" => 1,
        "UINT16" or "INT16" or "FP16" or "BF16" => 2,
        "UINT32" or "INT32" or "FP32" => 4,
        "UINT64" or "INT64" or "FP64" => 8,
        "BYTES" => 0,
        _ => throw new FormatException($"unknown datatype '{datatype}'"),
    };

    public static bool IsKnown(string datatype) => datatype is "BOOL" or "UINT8" or "INT8" or "UINT16" or "INT16" or "FP16" or "BF16"
        or "UINT32" or "INT32" or "FP32" or "UINT64" or "INT64" or "FP64" or "BYTES";

    /// <summary>The number of elements of a shape (1 for a scalar).</summary>
    public static long ElementCount(IReadOnlyList<long> shape)
    {
        long count = 1;
        foreach (var dim in shape)
        {
            count = checked(count * dim);
        }
        return count;
    }
}
