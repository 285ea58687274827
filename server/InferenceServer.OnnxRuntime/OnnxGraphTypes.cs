using System.Text;

namespace InferenceServer.OnnxRuntime;

/// <summary>
/// Reads the element type of each graph input and output straight from an ONNX file. Needed only
/// when a session cannot be made: the managed ONNX Runtime API fails a session whose inputs or
/// outputs have an element type it has no name for (FLOAT8*, INT4, ...) without saying which, and the
/// server must still name the tensor. Google.Protobuf would need ONNX's generated classes; the few
/// fields read here (protobuf wire format, fields numbered as in onnx.proto) do not justify them.
/// Large fields (initializers, nodes) are skipped by seeking, so the file is never held in memory.
/// </summary>
internal static class OnnxGraphTypes
{
    private const int ModelGraph = 7;
    private const int GraphInput = 11;
    private const int GraphOutput = 12;
    private const int ValueInfoName = 1;
    private const int ValueInfoType = 2;
    private const int TypeTensor = 1;
    private const int TensorElemType = 1;

    /// <summary>The first graph input or output whose element type fails <paramref name="supported"/>, or null (also when the file cannot be read).</summary>
    public static (string Role, string Name, int ElementType)? FindUnsupported(string path, Func<int, bool> supported)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, FileOptions.SequentialScan);
            var reader = new Reader(stream);
            while (reader.Next(stream.Length) is { } field)
            {
                if (field.Number != ModelGraph || field.WireType != 2)
                {
                    reader.Skip(field);
                    continue;
                }
                var graphEnd = reader.LengthEnd();
                while (reader.Next(graphEnd) is { } graphField)
                {
                    if (graphField.WireType == 2 && graphField.Number is GraphInput or GraphOutput)
                    {
                        var end = reader.LengthEnd();
                        var (name, elementType) = ReadValueInfo(reader, end);
                        if (elementType is { } type && !supported(type))
                        {
                            return (graphField.Number == GraphInput ? "input" : "output", name, type);
                        }
                        reader.Seek(end);
                    }
                    else
                    {
                        reader.Skip(graphField);
                    }
                }
                return null;
            }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return null;
        }
    }

    private static (string Name, int? ElementType) ReadValueInfo(Reader reader, long end)
    {
        var name = "";
        int? elementType = null;
        while (reader.Next(end) is { } field)
        {
            if (field.Number == ValueInfoName && field.WireType == 2)
            {
                name = reader.String();
            }
            else if (field.Number == ValueInfoType && field.WireType == 2)
            {
                var typeEnd = reader.LengthEnd();
                while (reader.Next(typeEnd) is { } typeField)
                {
                    if (typeField.Number == TypeTensor && typeField.WireType == 2)
                    {
                        var tensorEnd = reader.LengthEnd();
                        while (reader.Next(tensorEnd) is { } tensorField)
                        {
                            if (tensorField.Number == TensorElemType && tensorField.WireType == 0)
                            {
                                elementType = (int)reader.Varint();
                            }
                            else
                            {
                                reader.Skip(tensorField);
                            }
                        }
                    }
                    else
                    {
                        reader.Skip(typeField);
                    }
                }
            }
            else
            {
                reader.Skip(field);
            }
        }
        return (name, elementType);
    }

    private readonly record struct Field(int Number, int WireType);

    private sealed class Reader(Stream stream)
    {
        public Field? Next(long end)
        {
            if (stream.Position >= end)
            {
                return null;
            }
            var key = Varint();
            return new Field((int)(key >> 3), (int)(key & 7));
        }

        public long LengthEnd()
        {
            var length = (long)Varint();
            var end = stream.Position + length;
            if (length < 0 || end > stream.Length)
            {
                throw new InvalidDataException("field runs past the end of the file");
            }
            return end;
        }

        public void Seek(long position) => stream.Position = position;

        public string String()
        {
            var end = LengthEnd();
            var bytes = new byte[end - stream.Position];
            stream.ReadExactly(bytes);
            return Encoding.UTF8.GetString(bytes);
        }

        public void Skip(Field field)
        {
            switch (field.WireType)
            {
                case 0:
                    Varint();
                    break;
                case 1:
                    stream.Position += 8;
                    break;
                case 2:
                    stream.Position = LengthEnd();
                    break;
                case 5:
                    stream.Position += 4;
                    break;
                default:
                    throw new InvalidDataException($"wire type {field.WireType} is not used by ONNX files");
            }
        }

        public ulong Varint()
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                var b = stream.ReadByte();
                if (b < 0)
                {
                    throw new InvalidDataException("the file ends inside a number");
                }
                value |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    return value;
                }
            }
            throw new InvalidDataException("a number is longer than 10 bytes");
        }
    }
}
