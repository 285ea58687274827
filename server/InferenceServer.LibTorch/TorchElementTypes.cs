using InferenceServer.Core.Backends;
using InferenceServer.Core.Tensors;
using static TorchSharp.torch;

namespace InferenceServer.LibTorch;

/// <summary>
/// The server's tensor types as LibTorch's scalar types. TorchScript has a tensor type for every fixed-size type the
/// protocols carry except the unsigned ones wider than a byte (LibTorch's UInt16/32/64 are storage-only and TorchSharp
/// does not expose them) and has no string tensors.
/// </summary>
internal static class TorchElementTypes
{
    public static bool TryToScalarType(DataType type, out ScalarType scalar)
    {
        scalar = type switch
        {
            DataType.Bool => ScalarType.Bool,
            DataType.UInt8 => ScalarType.Byte,
            DataType.Int8 => ScalarType.Int8,
            DataType.Int16 => ScalarType.Int16,
            DataType.Int32 => ScalarType.Int32,
            DataType.Int64 => ScalarType.Int64,
            DataType.Fp16 => ScalarType.Float16,
            DataType.Bf16 => ScalarType.BFloat16,
            DataType.Fp32 => ScalarType.Float32,
            DataType.Fp64 => ScalarType.Float64,
            _ => (ScalarType)(-1),
        };
        return (sbyte)scalar >= 0;
    }

    /// <summary>The protocol name of a LibTorch scalar type, for messages; the LibTorch name for types the protocols lack.</summary>
    public static string Describe(ScalarType scalar) => scalar switch
    {
        ScalarType.Bool => "BOOL",
        ScalarType.Byte => "UINT8",
        ScalarType.Int8 => "INT8",
        ScalarType.Int16 => "INT16",
        ScalarType.Int32 => "INT32",
        ScalarType.Int64 => "INT64",
        ScalarType.Float16 => "FP16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Float32 => "FP32",
        ScalarType.Float64 => "FP64",
        _ => $"LibTorch {scalar}",
    };

    /// <summary>The load error for a config tensor of a type the backend cannot serve.</summary>
    public static BackendException Unsupported(DataType type, string role, string name) => new(
        $"config {role} '{name}' has data_type {type.ConfigName()}, which the pytorch backend cannot serve" +
        (type == DataType.Bytes ? " (TorchScript has no string tensors)" : "") +
        "; it serves TYPE_BOOL, TYPE_UINT8, TYPE_INT8, TYPE_INT16, TYPE_INT32, TYPE_INT64, TYPE_FP16, TYPE_BF16, TYPE_FP32 and TYPE_FP64",
        code: "NOT_IMPLEMENTED");
}
