namespace InferenceServer.Core.Tensors;

/// <summary>Names and sizes of <see cref="DataType"/> as the protocols and the model config spell them.</summary>
public static class DataTypes
{
    /// <summary>Every valid type, in the order the v2 protocol lists them.</summary>
    public static readonly DataType[] All =
    [
        DataType.Bool, DataType.UInt8, DataType.UInt16, DataType.UInt32, DataType.UInt64,
        DataType.Int8, DataType.Int16, DataType.Int32, DataType.Int64,
        DataType.Fp16, DataType.Bf16, DataType.Fp32, DataType.Fp64, DataType.Bytes,
    ];

    /// <summary>Bytes per element; 0 for <see cref="DataType.Bytes"/>, whose elements vary in size.</summary>
    public static int ElementSize(this DataType type) => type switch
    {
        DataType.Bool or DataType.UInt8 or DataType.Int8 => 1,
        DataType.UInt16 or DataType.Int16 or DataType.Fp16 or DataType.Bf16 => 2,
        DataType.UInt32 or DataType.Int32 or DataType.Fp32 => 4,
        DataType.UInt64 or DataType.Int64 or DataType.Fp64 => 8,
        _ => 0,
    };

    /// <summary>The v2 protocol name: <c>FP32</c>, <c>BYTES</c>, ...</summary>
    public static string ProtocolName(this DataType type) => type switch
    {
        DataType.Bool => "BOOL",
        DataType.UInt8 => "UINT8",
        DataType.UInt16 => "UINT16",
        DataType.UInt32 => "UINT32",
        DataType.UInt64 => "UINT64",
        DataType.Int8 => "INT8",
        DataType.Int16 => "INT16",
        DataType.Int32 => "INT32",
        DataType.Int64 => "INT64",
        DataType.Fp16 => "FP16",
        DataType.Bf16 => "BF16",
        DataType.Fp32 => "FP32",
        DataType.Fp64 => "FP64",
        DataType.Bytes => "BYTES",
        _ => "INVALID",
    };

    /// <summary>The model-config name: <c>TYPE_FP32</c>, <c>TYPE_STRING</c>, ...</summary>
    public static string ConfigName(this DataType type) =>
        type == DataType.Bytes ? "TYPE_STRING" : "TYPE_" + type.ProtocolName();

    /// <summary>Parses a v2 protocol name (case-sensitive, as the protocol specifies).</summary>
    public static bool TryParseProtocolName(ReadOnlySpan<char> name, out DataType type)
    {
        type = name switch
        {
            "BOOL" => DataType.Bool,
            "UINT8" => DataType.UInt8,
            "UINT16" => DataType.UInt16,
            "UINT32" => DataType.UInt32,
            "UINT64" => DataType.UInt64,
            "INT8" => DataType.Int8,
            "INT16" => DataType.Int16,
            "INT32" => DataType.Int32,
            "INT64" => DataType.Int64,
            "FP16" => DataType.Fp16,
            "BF16" => DataType.Bf16,
            "FP32" => DataType.Fp32,
            "FP64" => DataType.Fp64,
            "BYTES" => DataType.Bytes,
            _ => DataType.Invalid,
        };
        return type != DataType.Invalid;
    }

    /// <summary>Parses a model-config name (<c>TYPE_FP32</c>; <c>TYPE_STRING</c> is BYTES).</summary>
    public static bool TryParseConfigName(ReadOnlySpan<char> name, out DataType type)
    {
        if (name.SequenceEqual("TYPE_STRING"))
        {
            type = DataType.Bytes;
            return true;
        }
        if (name.StartsWith("TYPE_") && !name.SequenceEqual("TYPE_BYTES"))
        {
            return TryParseProtocolName(name[5..], out type);
        }
        type = DataType.Invalid;
        return false;
    }
}
