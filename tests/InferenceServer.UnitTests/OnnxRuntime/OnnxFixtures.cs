using System.Buffers.Binary;
using System.Text;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Tensors;

namespace InferenceServer.UnitTests.OnnxRuntime;

/// <summary>Finds the committed models in tests/fixtures/onnx and builds tensors for them.</summary>
internal static class OnnxFixtures
{
    private static readonly Lazy<string> Folder = new(FindFolder);

    public static string IdentityAll => Path.Combine(Folder.Value, "identity_all.onnx");

    public static string AddSub => Path.Combine(Folder.Value, "add_sub.onnx");

    public static string UnsupportedFloat8 => Path.Combine(Folder.Value, "unsupported_float8.onnx");

    public static string EinsumReduce => Path.Combine(Folder.Value, "einsum_reduce.onnx");

    public static string InstanceNorm => Path.Combine(Folder.Value, "instance_norm.onnx");

    public static string MisdeclaredShape => Path.Combine(Folder.Value, "misdeclared_shape.onnx");

    public static InstanceOptions Options(string path, IReadOnlyDictionary<string, string>? parameters = null, InstanceKind kind = InstanceKind.Cpu) =>
        new(path, kind, 0, parameters ?? new Dictionary<string, string>());

    public static Tensor Int32(string name, long[] shape, ReadOnlySpan<int> values)
    {
        var tensor = Tensor.Allocate(name, DataType.Int32, shape, values.Length * sizeof(int));
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(tensor.Data.Slice(i * sizeof(int)), values[i]);
        }
        return tensor;
    }

    public static int[] ReadInt32(Tensor tensor)
    {
        var values = new int[tensor.ByteLength / sizeof(int)];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadInt32LittleEndian(tensor.Data.Slice(i * sizeof(int)));
        }
        return values;
    }

    /// <summary>Lays out byte strings as the v2 binary extension does: u32 little-endian length, then the bytes.</summary>
    public static Tensor Bytes(string name, long[] shape, IReadOnlyList<byte[]> elements)
    {
        var size = 0;
        foreach (var element in elements)
        {
            size += sizeof(uint) + element.Length;
        }
        var tensor = Tensor.Allocate(name, DataType.Bytes, shape, size);
        var position = 0;
        foreach (var element in elements)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(tensor.Data.Slice(position), (uint)element.Length);
            element.CopyTo(tensor.Data.Slice(position + sizeof(uint)));
            position += sizeof(uint) + element.Length;
        }
        return tensor;
    }

    public static List<byte[]> ReadBytes(Tensor tensor)
    {
        var elements = new List<byte[]>();
        var data = tensor.Data;
        var position = 0;
        while (position < data.Length)
        {
            var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(position));
            elements.Add(data.Slice(position + sizeof(uint), length).ToArray());
            position += sizeof(uint) + length;
        }
        return elements;
    }

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static string FindFolder()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "tests", "fixtures", "onnx");
            if (File.Exists(Path.Combine(candidate, "identity_all.onnx")))
            {
                return candidate;
            }
        }
        throw new InvalidOperationException($"tests/fixtures/onnx not found above {AppContext.BaseDirectory}");
    }
}
