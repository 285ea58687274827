using System.Buffers.Binary;
using System.Text;

namespace InferenceServer.LoadTest.Inputs;

/// <summary>
/// Random inputs of the right datatypes and shapes from a model's metadata, every -1 dimension replaced by the batch
/// size. Floats are uniform in [0, 1), integers in [0, 100), BOOL fair coin flips, BYTES 8 lowercase letters; the
/// same seed gives the same inputs.
/// </summary>
internal static class InputGenerator
{
    public static IReadOnlyList<InferenceInput> Generate(ModelMetadata metadata, int batchSize, int count, int seed)
    {
        if (metadata.Inputs.Count == 0)
        {
            throw new FormatException($"model '{metadata.Name}' lists no inputs in its metadata, so inputs cannot be generated; give --input FILE");
        }
        var random = new Random(seed);
        var inputs = new List<InferenceInput>(count);
        for (var i = 0; i < count; i++)
        {
            var tensors = new List<InputTensor>(metadata.Inputs.Count);
            foreach (var tensor in metadata.Inputs)
            {
                var shape = Array.ConvertAll(tensor.Shape, d => d < 0 ? batchSize : d);
                tensors.Add(new InputTensor(tensor.Name, tensor.DataType, shape, RandomData(tensor.DataType, TensorTypes.ElementCount(shape), random)));
            }
            inputs.Add(new InferenceInput(tensors, []));
        }
        return inputs;
    }

    private static byte[] RandomData(string datatype, long elements, Random random)
    {
        if (datatype == "BYTES")
        {
            var builder = new List<byte>();
            Span<byte> prefix = stackalloc byte[4];
            for (long e = 0; e < elements; e++)
            {
                var text = new char[8];
                for (var c = 0; c < text.Length; c++)
                {
                    text[c] = (char)('a' + random.Next(26));
                }
                var utf8 = Encoding.UTF8.GetBytes(text);
                BinaryPrimitives.WriteInt32LittleEndian(prefix, utf8.Length);
                builder.AddRange(prefix.ToArray());
                builder.AddRange(utf8);
            }
            return [.. builder];
        }
        var size = TensorTypes.ElementSize(datatype);
        var data = new byte[checked((int)(elements * size))];
        var span = data.AsSpan();
        for (var e = 0; e < (int)elements; e++)
        {
            var at = span[(e * size)..];
            switch (datatype)
            {
                case "BOOL":
                    at[0] = (byte)random.Next(2);
                    break;
                case "UINT8":
                case "INT8":
                    at[0] = (byte)random.Next(100);
                    break;
                case "UINT16":
                case "INT16":
                    BinaryPrimitives.WriteInt16LittleEndian(at, (short)random.Next(100));
                    break;
                case "UINT32":
                case "INT32":
                    BinaryPrimitives.WriteInt32LittleEndian(at, random.Next(100));
                    break;
                case "UINT64":
                case "INT64":
                    BinaryPrimitives.WriteInt64LittleEndian(at, random.Next(100));
                    break;
                case "FP16":
                    BinaryPrimitives.WriteHalfLittleEndian(at, (Half)random.NextSingle());
                    break;
                case "BF16":
                    // bfloat16 is the upper half of a float's bits.
                    BinaryPrimitives.WriteUInt16LittleEndian(at, (ushort)(BitConverter.SingleToUInt32Bits(random.NextSingle()) >> 16));
                    break;
                case "FP32":
                    BinaryPrimitives.WriteSingleLittleEndian(at, random.NextSingle());
                    break;
                case "FP64":
                    BinaryPrimitives.WriteDoubleLittleEndian(at, random.NextDouble());
                    break;
                default:
                    throw new FormatException($"unknown datatype '{datatype}'");
            }
        }
        return data;
    }
}
