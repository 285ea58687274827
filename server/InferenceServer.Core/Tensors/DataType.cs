namespace InferenceServer.Core.Tensors;

/// <summary>
/// The tensor element types of the KServe v2 protocol. The numeric values are ONNX's
/// <c>TensorProto.DataType</c> codes (which ONNX Runtime's element-type enum shares), so a
/// backend can convert with a cast.
/// </summary>
public enum DataType
{
    /// <summary>No valid type.</summary>
    Invalid = 0,
    /// <summary>32-bit IEEE float (v2: FP32).</summary>
    Fp32 = 1,
    /// <summary>Unsigned 8-bit integer.</summary>
    UInt8 = 2,
    /// <summary>Signed 8-bit integer.</summary>
    Int8 = 3,
    /// <summary>Unsigned 16-bit integer.</summary>
    UInt16 = 4,
    /// <summary>Signed 16-bit integer.</summary>
    Int16 = 5,
    /// <summary>Signed 32-bit integer.</summary>
    Int32 = 6,
    /// <summary>Signed 64-bit integer.</summary>
    Int64 = 7,
    /// <summary>Variable-length byte strings (ONNX string tensors).</summary>
    Bytes = 8,
    /// <summary>Boolean, one byte per element (0 or 1).</summary>
    Bool = 9,
    /// <summary>IEEE half precision.</summary>
    Fp16 = 10,
    /// <summary>64-bit IEEE float.</summary>
    Fp64 = 11,
    /// <summary>Unsigned 32-bit integer.</summary>
    UInt32 = 12,
    /// <summary>Unsigned 64-bit integer.</summary>
    UInt64 = 13,
    /// <summary>bfloat16 (the upper half of an FP32).</summary>
    Bf16 = 16,
}
