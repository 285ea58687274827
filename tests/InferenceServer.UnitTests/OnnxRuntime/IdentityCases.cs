using InferenceServer.Core.Tensors;

namespace InferenceServer.UnitTests.OnnxRuntime;

/// <summary>The identity_all fixture's tensors: IN_/OUT_ plus ONNX's type name, in the model's order.</summary>
internal static class IdentityCases
{
    public static readonly (string Suffix, DataType Type)[] All =
    [
        ("BOOL", DataType.Bool),
        ("UINT8", DataType.UInt8),
        ("UINT16", DataType.UInt16),
        ("UINT32", DataType.UInt32),
        ("UINT64", DataType.UInt64),
        ("INT8", DataType.Int8),
        ("INT16", DataType.Int16),
        ("INT32", DataType.Int32),
        ("INT64", DataType.Int64),
        ("FLOAT16", DataType.Fp16),
        ("BFLOAT16", DataType.Bf16),
        ("FLOAT", DataType.Fp32),
        ("DOUBLE", DataType.Fp64),
        ("STRING", DataType.Bytes),
    ];
}
