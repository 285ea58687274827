using InferenceServer.Core.Backends;
using InferenceServer.Core.Tensors;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace InferenceServer.OnnxRuntime;

/// <summary>
/// Maps ONNX Runtime's <see cref="TensorElementType"/> to <see cref="DataType"/>. Both use ONNX's
/// TensorProto codes, so a supported type converts with a cast; the rest are refused by name.
/// </summary>
internal static class OrtElementTypes
{
    public static TensorElementType ToOrt(DataType dataType) => (TensorElementType)(int)dataType;

    public static DataType ToDataType(TensorElementType elementType, string role, string tensorName) =>
        ToDataType((int)elementType, role, tensorName);

    public static bool TryToDataType(int elementType, out DataType dataType)
    {
        dataType = (DataType)elementType;
        switch (dataType)
        {
            case DataType.Fp32 or DataType.UInt8 or DataType.Int8 or DataType.UInt16 or DataType.Int16
                or DataType.Int32 or DataType.Int64 or DataType.Bytes or DataType.Bool or DataType.Fp16
                or DataType.Fp64 or DataType.UInt32 or DataType.UInt64 or DataType.Bf16:
                return true;
            default:
                dataType = DataType.Invalid;
                return false;
        }
    }

    public static DataType ToDataType(int elementType, string role, string tensorName)
    {
        if (!TryToDataType(elementType, out var dataType))
        {
            throw Unsupported(elementType, role, tensorName);
        }
        return dataType;
    }

    public static BackendException Unsupported(int elementType, string role, string tensorName) =>
        new($"{role} '{tensorName}' has element type {Name(elementType)}, which this server does not support " +
            "(supported: BOOL, UINT8/16/32/64, INT8/16/32/64, FP16, BF16, FP32, FP64, BYTES).",
            code: "NOT_IMPLEMENTED");

    public static string Name(int elementType) => elementType switch
    {
        0 => "UNDEFINED",
        14 => "COMPLEX64",
        15 => "COMPLEX128",
        17 => "FLOAT8E4M3FN",
        18 => "FLOAT8E4M3FNUZ",
        19 => "FLOAT8E5M2",
        20 => "FLOAT8E5M2FNUZ",
        21 => "UINT4",
        22 => "INT4",
        23 => "FLOAT4E2M1",
        _ when TryToDataType(elementType, out var known) => known.ProtocolName(),
        _ => "element type " + elementType.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
