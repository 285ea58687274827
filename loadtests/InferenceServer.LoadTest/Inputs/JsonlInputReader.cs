using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace InferenceServer.LoadTest.Inputs;

/// <summary>
/// Reads a JSONL file of v2 JSON inference requests (<c>{"inputs":[{"name","datatype","shape","data"}],"outputs":[…]}</c>,
/// one per line, <c>data</c> flat or nested, optional request <c>parameters</c>). Each line becomes one distinct
/// request; its tensors are converted to the binary layout for REST binary and gRPC, its parameters go with them,
/// and the line is kept as it is for REST JSON.
/// </summary>
internal static class JsonlInputReader
{
    public static IReadOnlyList<InferenceInput> Read(string path) =>
        ReadLines(path, Parse, "no requests in the file (one v2 JSON request per line)");

    /// <summary>
    /// Reads a JSONL file of predict bodies (<c>{"record": {...}}</c>, <c>{"entity": {"id": "..."}}</c>, or lists of
    /// either), one per line; each is sent as it is, so it is only checked to be a JSON object.
    /// </summary>
    public static IReadOnlyList<InferenceInput> ReadPredictBodies(string path) =>
        ReadLines(path, ParsePredictBody, "no predict bodies in the file (one JSON object per line)");

    // One input per line that is not blank; a line that does not parse is named by its number.
    private static IReadOnlyList<InferenceInput> ReadLines(string path, Func<string, InferenceInput> parse, string whenEmpty)
    {
        var inputs = new List<InferenceInput>();
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            try
            {
                inputs.Add(parse(line));
            }
            catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException or OverflowException)
            {
                throw new FormatException($"{path}:{number}: {e.Message}", e);
            }
        }
        if (inputs.Count == 0)
        {
            throw new FormatException($"{path}: {whenEmpty}");
        }
        return inputs;
    }

    private static InferenceInput ParsePredictBody(string line)
    {
        using (var document = JsonDocument.Parse(line))
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException("a predict body is a JSON object");
            }
        }
        return new InferenceInput([], [], Encoding.UTF8.GetBytes(line));
    }

    public static InferenceInput Parse(string line)
    {
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("a request is a JSON object");
        }
        if (!root.TryGetProperty("inputs", out var inputsElement) || inputsElement.ValueKind != JsonValueKind.Array || inputsElement.GetArrayLength() == 0)
        {
            throw new FormatException("the request has no 'inputs' array");
        }
        var tensors = new List<InputTensor>();
        foreach (var input in inputsElement.EnumerateArray())
        {
            tensors.Add(ParseTensor(input));
        }
        var outputs = new List<string>();
        if (root.TryGetProperty("outputs", out var outputsElement) && outputsElement.ValueKind == JsonValueKind.Array)
        {
            foreach (var output in outputsElement.EnumerateArray())
            {
                outputs.Add(output.GetProperty("name").GetString() ?? throw new FormatException("an output's name is null"));
            }
        }
        return new InferenceInput(tensors, outputs, Encoding.UTF8.GetBytes(line), ParseParameters(root));
    }

    // The request's own parameters (a routing key, a priority): the same on every protocol, so only the values all
    // three can carry. binary_data_output is the protocol's business (--protocol), not the file's.
    private static JsonElement? ParseParameters(JsonElement root)
    {
        if (!root.TryGetProperty("parameters", out var parameters))
        {
            return null;
        }
        if (parameters.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("the request's 'parameters' is not an object");
        }
        foreach (var parameter in parameters.EnumerateObject())
        {
            if (parameter.Name == "binary_data_output")
            {
                throw new FormatException("binary_data_output has no place in a JSONL file; --protocol chooses binary or JSON");
            }
            if (parameter.Value.ValueKind is not (JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False))
            {
                throw new FormatException($"parameter '{parameter.Name}': a request parameter is a string, a number or true/false");
            }
        }
        return parameters.Clone();
    }

    private static InputTensor ParseTensor(JsonElement input)
    {
        var name = Required(input, "name").GetString() ?? throw new FormatException("an input's name is null");
        var datatype = Required(input, "datatype").GetString() ?? "";
        if (!TensorTypes.IsKnown(datatype))
        {
            throw new FormatException($"input '{name}': unknown datatype '{datatype}'");
        }
        var shape = new List<long>();
        foreach (var dim in Required(input, "shape").EnumerateArray())
        {
            var value = dim.GetInt64();
            if (value < 0)
            {
                throw new FormatException($"input '{name}': a request's shape has no -1 dimensions");
            }
            shape.Add(value);
        }
        if (input.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object && parameters.TryGetProperty("binary_data_size", out _))
        {
            throw new FormatException($"input '{name}': binary_data_size has no place in a JSONL file; put the values in 'data'");
        }
        var elements = new List<JsonElement>();
        Flatten(Required(input, "data"), elements);
        var expected = TensorTypes.ElementCount(shape);
        if (elements.Count != expected)
        {
            throw new FormatException($"input '{name}': shape [{string.Join(',', shape)}] needs {expected} values, 'data' has {elements.Count}");
        }
        return new InputTensor(name, datatype, [.. shape], Encode(name, datatype, elements));
    }

    private static JsonElement Required(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) ? value : throw new FormatException($"an input has no '{property}'");

    private static void Flatten(JsonElement element, List<JsonElement> into)
    {
        if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
            {
                Flatten(item, into);
            }
        }
        else
        {
            into.Add(element);
        }
    }

    private static byte[] Encode(string name, string datatype, List<JsonElement> elements)
    {
        if (datatype == "BYTES")
        {
            var bytes = new List<byte>();
            Span<byte> prefix = stackalloc byte[4];
            foreach (var element in elements)
            {
                var utf8 = element.ValueKind == JsonValueKind.String
                    ? Encoding.UTF8.GetBytes(element.GetString()!)
                    : throw new FormatException($"input '{name}': BYTES values are strings");
                BinaryPrimitives.WriteInt32LittleEndian(prefix, utf8.Length);
                bytes.AddRange(prefix.ToArray());
                bytes.AddRange(utf8);
            }
            return [.. bytes];
        }
        var size = TensorTypes.ElementSize(datatype);
        var data = new byte[elements.Count * size];
        for (var i = 0; i < elements.Count; i++)
        {
            var e = elements[i];
            var at = data.AsSpan(i * size);
            switch (datatype)
            {
                case "BOOL":
                    at[0] = e.ValueKind switch
                    {
                        JsonValueKind.True => 1,
                        JsonValueKind.False => 0,
                        JsonValueKind.Number => e.GetInt32() != 0 ? (byte)1 : (byte)0,
                        _ => throw new FormatException($"input '{name}': BOOL values are true or false"),
                    };
                    break;
                case "UINT8": at[0] = e.GetByte(); break;
                case "INT8": at[0] = (byte)e.GetSByte(); break;
                case "UINT16": BinaryPrimitives.WriteUInt16LittleEndian(at, e.GetUInt16()); break;
                case "INT16": BinaryPrimitives.WriteInt16LittleEndian(at, e.GetInt16()); break;
                case "UINT32": BinaryPrimitives.WriteUInt32LittleEndian(at, e.GetUInt32()); break;
                case "INT32": BinaryPrimitives.WriteInt32LittleEndian(at, e.GetInt32()); break;
                case "UINT64": BinaryPrimitives.WriteUInt64LittleEndian(at, e.GetUInt64()); break;
                case "INT64": BinaryPrimitives.WriteInt64LittleEndian(at, e.GetInt64()); break;
                case "FP16": BinaryPrimitives.WriteHalfLittleEndian(at, (Half)Number(name, e)); break;
                case "BF16": BinaryPrimitives.WriteUInt16LittleEndian(at, (ushort)(BitConverter.SingleToUInt32Bits((float)Number(name, e)) >> 16)); break;
                case "FP32": BinaryPrimitives.WriteSingleLittleEndian(at, (float)Number(name, e)); break;
                default: BinaryPrimitives.WriteDoubleLittleEndian(at, Number(name, e)); break;
            }
        }
        return data;
    }

    // JSON has no NaN or infinity; clients send them as strings, as the server accepts.
    private static double Number(string name, JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number => e.GetDouble(),
        JsonValueKind.String when double.TryParse(e.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) => v,
        _ => throw new FormatException($"input '{name}': '{e.GetRawText()}' is not a number"),
    };
}
