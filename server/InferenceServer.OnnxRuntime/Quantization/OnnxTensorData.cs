using System.Runtime.InteropServices;
using Google.Protobuf;
using InferenceServer.Core.Quantization;
using InferenceServer.OnnxRuntime.Quantization.Onnx;

namespace InferenceServer.OnnxRuntime.Quantization;

/// <summary>Reads the elements of an initializer and makes new ones (always as raw little-endian data, as ONNX writers do).</summary>
internal static class OnnxTensorData
{
    public const int Float = (int)TensorProto.Types.DataType.Float;
    public const int UInt8 = (int)TensorProto.Types.DataType.Uint8;
    public const int Int8 = (int)TensorProto.Types.DataType.Int8;
    public const int Int32 = (int)TensorProto.Types.DataType.Int32;
    public const int Int64 = (int)TensorProto.Types.DataType.Int64;
    public const int Float16 = (int)TensorProto.Types.DataType.Float16;

    static OnnxTensorData()
    {
        // Raw data is little-endian by the ONNX rule; the reinterpreting reads below assume the machine is too.
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("the ONNX quantizer needs a little-endian machine");
        }
    }

    public static long ElementCount(TensorProto tensor)
    {
        long count = 1;
        foreach (var dim in tensor.Dims)
        {
            count *= dim;
        }
        return count;
    }

    public static float[] ReadFloats(TensorProto tensor)
    {
        if (tensor.DataType != Float)
        {
            throw new QuantizationException(
                $"tensor '{tensor.Name}' is {TypeName(tensor.DataType)}; expected FLOAT");
        }
        var count = ElementCount(tensor);
        float[] values;
        if (tensor.HasRawData)
        {
            var bytes = tensor.RawData.Span;
            if (bytes.Length != count * sizeof(float))
            {
                throw Malformed(tensor, bytes.Length, count * sizeof(float));
            }
            values = MemoryMarshal.Cast<byte, float>(bytes).ToArray();
        }
        else
        {
            if (tensor.FloatData.Count != count)
            {
                throw Malformed(tensor, tensor.FloatData.Count * sizeof(float), count * sizeof(float));
            }
            values = [.. tensor.FloatData];
        }
        return values;
    }

    public static TensorProto Floats(string name, IEnumerable<long> dims, ReadOnlySpan<float> values) =>
        Make(name, Float, dims, MemoryMarshal.AsBytes(values));

    public static TensorProto Int8s(string name, IEnumerable<long> dims, ReadOnlySpan<sbyte> values) =>
        Make(name, Int8, dims, MemoryMarshal.AsBytes(values));

    public static TensorProto UInt8s(string name, IEnumerable<long> dims, ReadOnlySpan<byte> values) =>
        Make(name, UInt8, dims, values);

    public static TensorProto Int32s(string name, IEnumerable<long> dims, ReadOnlySpan<int> values) =>
        Make(name, Int32, dims, MemoryMarshal.AsBytes(values));

    public static TensorProto Int64s(string name, IEnumerable<long> dims, ReadOnlySpan<long> values) =>
        Make(name, Int64, dims, MemoryMarshal.AsBytes(values));

    public static TensorProto Halves(string name, IEnumerable<long> dims, ReadOnlySpan<Half> values) =>
        Make(name, Float16, dims, MemoryMarshal.AsBytes(values));

    /// <summary>The ONNX name of an element type number, e.g. FLOAT16.</summary>
    public static string TypeName(int dataType) =>
        Enum.IsDefined(typeof(TensorProto.Types.DataType), dataType)
            ? ((TensorProto.Types.DataType)dataType).ToString().ToUpperInvariant()
            : $"element type {dataType}";

    private static TensorProto Make(string name, int dataType, IEnumerable<long> dims, ReadOnlySpan<byte> bytes)
    {
        var tensor = new TensorProto { Name = name, DataType = dataType, RawData = ByteString.CopyFrom(bytes) };
        tensor.Dims.AddRange(dims);
        return tensor;
    }

    private static QuantizationException Malformed(TensorProto tensor, long actual, long expected) =>
        new($"tensor '{tensor.Name}' holds {actual} bytes of data but its shape [{string.Join(", ", tensor.Dims)}] needs {expected}");
}
