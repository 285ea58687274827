using TensorType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.Core.Repository;

/// <summary>
/// The config's element types (<c>TYPE_FP32</c>, numbered as Triton's model_config.proto numbers them) as the
/// server's tensor types (numbered as ONNX's), and back. <c>TYPE_STRING</c> is the protocols' BYTES.
/// </summary>
public static class ConfigDataTypes
{
    /// <summary>The tensor type of a config type; <see cref="TensorType.Invalid"/> for <c>TYPE_INVALID</c> and numbers the schema lacks.</summary>
    public static TensorType ToTensorType(this DataType type) => type switch
    {
        DataType.TypeBool => TensorType.Bool,
        DataType.TypeUint8 => TensorType.UInt8,
        DataType.TypeUint16 => TensorType.UInt16,
        DataType.TypeUint32 => TensorType.UInt32,
        DataType.TypeUint64 => TensorType.UInt64,
        DataType.TypeInt8 => TensorType.Int8,
        DataType.TypeInt16 => TensorType.Int16,
        DataType.TypeInt32 => TensorType.Int32,
        DataType.TypeInt64 => TensorType.Int64,
        DataType.TypeFp16 => TensorType.Fp16,
        DataType.TypeFp32 => TensorType.Fp32,
        DataType.TypeFp64 => TensorType.Fp64,
        DataType.TypeString => TensorType.Bytes,
        DataType.TypeBf16 => TensorType.Bf16,
        _ => TensorType.Invalid,
    };

    /// <summary>The config type of a tensor type; <c>TYPE_INVALID</c> for <see cref="TensorType.Invalid"/>.</summary>
    public static DataType ToConfigType(this TensorType type) => type switch
    {
        TensorType.Bool => DataType.TypeBool,
        TensorType.UInt8 => DataType.TypeUint8,
        TensorType.UInt16 => DataType.TypeUint16,
        TensorType.UInt32 => DataType.TypeUint32,
        TensorType.UInt64 => DataType.TypeUint64,
        TensorType.Int8 => DataType.TypeInt8,
        TensorType.Int16 => DataType.TypeInt16,
        TensorType.Int32 => DataType.TypeInt32,
        TensorType.Int64 => DataType.TypeInt64,
        TensorType.Fp16 => DataType.TypeFp16,
        TensorType.Fp32 => DataType.TypeFp32,
        TensorType.Fp64 => DataType.TypeFp64,
        TensorType.Bytes => DataType.TypeString,
        TensorType.Bf16 => DataType.TypeBf16,
        _ => DataType.TypeInvalid,
    };

    /// <summary>The tensor type of <paramref name="tensor"/>'s <c>data_type</c>.</summary>
    public static TensorType ElementType(this IModelTensor tensor) => tensor.DataType.ToTensorType();
}
