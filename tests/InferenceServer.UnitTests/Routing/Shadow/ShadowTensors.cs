using System.Runtime.InteropServices;
using System.Text;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;

namespace InferenceServer.UnitTests.Routing.Shadow;

/// <summary>Real pooled tensors, requests and responses for the shadow tests, written in the v2 binary layout.</summary>
internal static class ShadowTensors
{
    public static Tensor Of<T>(string name, DataType type, long[] shape, params T[] values)
        where T : unmanaged => Tensor.Copy(name, type, shape, MemoryMarshal.AsBytes(values.AsSpan()));

    public static Tensor Fp32(string name, long[] shape, params float[] values) => Of(name, DataType.Fp32, shape, values);

    public static Tensor Bytes(string name, long[] shape, params string[] values)
    {
        var size = 0;
        foreach (var value in values)
        {
            size += BytesTensorLayout.PrefixSize + Encoding.UTF8.GetByteCount(value);
        }
        var tensor = Tensor.Allocate(name, DataType.Bytes, shape, size);
        var offset = 0;
        foreach (var value in values)
        {
            offset += BytesTensorLayout.WriteElement(tensor.Data[offset..], Encoding.UTF8.GetBytes(value));
        }
        return tensor;
    }

    public static float[] ReadFp32(Tensor tensor) => MemoryMarshal.Cast<byte, float>(tensor.Data).ToArray();

    public static InferenceRequest Request(string id, params float[] features)
    {
        var request = new InferenceRequest { ModelName = "income", Id = id };
        request.Inputs.Add(Fp32("features", [1, features.Length], features));
        return request;
    }

    public static InferenceResponse Response(params Tensor[] outputs) => new("income", "1", "r", outputs);
}
