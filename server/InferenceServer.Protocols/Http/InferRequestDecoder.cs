using System.Text.Json;
using InferenceServer.Core.Features;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Tensors;
using DataType = InferenceServer.Core.Tensors.DataType;

namespace InferenceServer.Protocols.Http;

/// <summary>
/// Decodes a v2 REST infer body: the JSON request, optionally followed by binary tensor data
/// (the binary tensor extension), or a raw binary body for a single-input model.
/// </summary>
internal static class InferRequestDecoder
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64 };

    // The top-level object, as errors name it.
    private const string TheRequest = "the request";

    /// <summary>
    /// Decodes <paramref name="json"/> and takes the data of inputs that carry
    /// <c>binary_data_size</c> from <paramref name="binary"/>, in the order the inputs appear.
    /// </summary>
    public static InferenceRequest Decode(string model, string? version, ReadOnlySpan<byte> json, ReadOnlySpan<byte> binary, out OutputFormat format)
    {
        var request = new InferenceRequest { ModelName = model, ModelVersion = version };
        try
        {
            var binaryOffset = 0;
            var reader = new Utf8JsonReader(json, ReaderOptions);
            ReadTopLevel(ref reader, json, binary, ref binaryOffset, request, out format);
            if (binaryOffset != binary.Length)
            {
                throw InferenceException.Invalid($"the body carries {binary.Length} bytes of binary data after the JSON header but the inputs' binary_data_size add up to {binaryOffset}");
            }
            return request;
        }
        catch (JsonException e)
        {
            request.Dispose();
            throw InferenceException.Invalid($"malformed JSON in the request: {e.Message}");
        }
        catch
        {
            request.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Decodes a raw binary body (<c>Inference-Header-Content-Length: 0</c>): the whole body is the
    /// data of the model's only input. Its shape comes from the config; one variable dimension
    /// (the batch dimension counts) is solved from the body's size. All outputs return as binary.
    /// </summary>
    public static InferenceRequest DecodeRaw(string model, string? version, ModelConfig config, ReadOnlySpan<byte> body)
    {
        if (config.Input.Count != 1)
        {
            throw InferenceException.Invalid($"a raw binary request (Inference-Header-Content-Length: 0) needs a model with exactly one input; '{model}' has {config.Input.Count}");
        }
        var input = config.Input[0];
        var type = input.ElementType();
        var shape = RequestValidator.ExpectedShape(config, input).ToArray();
        var variable = -1;
        for (var i = 0; i < shape.Length; i++)
        {
            if (shape[i] != -1)
            {
                continue;
            }
            if (variable >= 0 && type != DataType.Bytes)
            {
                throw InferenceException.Invalid($"a raw binary request cannot give input '{input.Name}' of shape {ShapeMath.Format(shape)} more than one variable dimension; send a JSON header");
            }
            variable = i;
        }

        if (type == DataType.Bytes)
        {
            // The body is one BYTES element; every variable dimension is 1.
            for (var i = 0; i < shape.Length; i++)
            {
                shape[i] = shape[i] == -1 ? 1 : shape[i];
            }
            var tensor = Tensor.Allocate(input.Name, DataType.Bytes, shape, body.Length + BytesTensorLayout.PrefixSize);
            BytesTensorLayout.WriteElement(tensor.Data, body);
            return WithInput(model, version, tensor);
        }

        long known = type.ElementSize();
        foreach (var dim in shape)
        {
            known *= dim == -1 ? 1 : dim;
        }
        if (variable >= 0)
        {
            if (known == 0 || body.Length % known != 0)
            {
                throw InferenceException.Invalid($"a raw binary body of {body.Length} bytes is not a whole number of {type.ProtocolName()} {ShapeMath.Format(shape)} items for input '{input.Name}'");
            }
            shape[variable] = body.Length / known;
        }
        return WithInput(model, version, Tensor.Copy(input.Name, type, shape, body));
    }

    private static InferenceRequest WithInput(string model, string? version, Tensor tensor)
    {
        var request = new InferenceRequest { ModelName = model, ModelVersion = version };
        request.Inputs.Add(tensor);
        return request;
    }

    private static void ReadTopLevel(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, ReadOnlySpan<byte> binary, ref int binaryOffset, InferenceRequest request, out OutputFormat format)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw InferenceException.Invalid("the request body must be a JSON object");
        }
        var binaryByDefault = false;
        Dictionary<string, bool>? perOutput = null;
        var sawInputs = false;
        string? id = null;
        var keys = new JsonKeys(TheRequest);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (keys.Is(ref reader, "id"u8, 0))
            {
                reader.Read();
                id = reader.TokenType == JsonTokenType.String ? JsonText.Read(ref reader, "id") : throw InferenceException.Invalid("'id' must be a string");
            }
            else if (keys.Is(ref reader, "parameters"u8, 1))
            {
                reader.Read();
                ReadRequestParameters(ref reader, request, ref binaryByDefault);
            }
            else if (keys.Is(ref reader, "inputs"u8, 2))
            {
                reader.Read();
                ExpectArray(ref reader, "inputs");
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    request.Inputs.Add(ReadInput(ref reader, json, binary, ref binaryOffset, request.Inputs.Count));
                }
                sawInputs = true;
            }
            else if (keys.Is(ref reader, "outputs"u8, 3))
            {
                reader.Read();
                ExpectArray(ref reader, "outputs");
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    ReadOutput(ref reader, request, ref perOutput);
                }
            }
            else
            {
                keys.Other(ref reader);
                JsonText.Skip(ref reader, TheRequest);
            }
        }
        if (!sawInputs && !HasFeatureParameters(request))
        {
            throw InferenceException.Invalid("the request has no 'inputs'");
        }
        if (reader.Read())
        {
            throw InferenceException.Invalid("unexpected data after the JSON request object; binary data needs the Inference-Header-Content-Length header");
        }
        if (id is not null)
        {
            request.Id = id;
        }
        format = perOutput is null && !binaryByDefault ? OutputFormat.AllJson : new OutputFormat(binaryByDefault, perOutput);
    }

    internal static void ReadRequestParameters(ref Utf8JsonReader reader, InferenceRequest request, ref bool binaryByDefault)
    {
        ExpectObject(ref reader, "parameters");
        var keys = new JsonKeys("parameters");
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (keys.Is(ref reader, "binary_data_output"u8, 0))
            {
                reader.Read();
                binaryByDefault = ReadBool(ref reader, "parameters.binary_data_output");
            }
            else if (keys.Is(ref reader, "priority"u8, 1))
            {
                reader.Read();
                request.Priority = (int)ReadNonNegative(ref reader, "parameters.priority", int.MaxValue);
            }
            else if (keys.Is(ref reader, "timeout"u8, 2))
            {
                reader.Read();
                request.TimeoutMicroseconds = ReadNonNegative(ref reader, "parameters.timeout", long.MaxValue);
            }
            else if (keys.Is(ref reader, "entity"u8, 3) || keys.Is(ref reader, "record"u8, 4))
            {
                // An entity to look up or a raw record for the model's feature view: flattened into entity.<key> and
                // record.<field>, the names gRPC's parameters carry them under (and routing policies see).
                var name = reader.ValueTextEquals("entity"u8) ? FeatureParameters.Entity : FeatureParameters.Record;
                reader.Read();
                ExpectObject(ref reader, $"parameters.{name}");
                FeatureJson.ReadParameter(ref reader, name, request);
            }
            else
            {
                // Kept for the routing policy, as text; a value that is an object or an array has no use there.
                var name = keys.Other(ref reader);
                reader.Read();
                if (ParameterText(ref reader, name) is { } text)
                {
                    request.SetParameter(name, text);
                }
                else
                {
                    JsonText.Skip(ref reader, "parameters");
                }
            }
        }
    }

    // A request may leave its inputs to the model's feature view (the front door fills them or refuses the request).
    private static bool HasFeatureParameters(InferenceRequest request)
    {
        if (request.Parameters is not { } parameters)
        {
            return false;
        }
        foreach (var name in parameters.Keys)
        {
            if (FeatureParameters.IsFeatureParameter(name))
            {
                return true;
            }
        }
        return false;
    }

    private static string? ParameterText(ref Utf8JsonReader reader, string name) => reader.TokenType switch
    {
        JsonTokenType.String => JsonText.TryRead(ref reader, out var text) ? text : throw JsonText.NotText($"parameters.{name}"),
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        JsonTokenType.Number => System.Text.Encoding.UTF8.GetString(reader.ValueSpan),
        _ => null,
    };

    private static Tensor ReadInput(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, ReadOnlySpan<byte> binary, ref int binaryOffset, int index)
    {
        ExpectObject(ref reader, new JsonFieldPath("inputs", index));
        string? name = null;
        long[]? shape = null;
        var type = DataType.Invalid;
        long binarySize = -1;
        int dataStart = -1, dataEnd = -1;
        Tensor? decoded = null;
        try
        {
            ReadInputFields(ref reader, json, index, ref name, ref shape, ref type, ref binarySize, ref dataStart, ref dataEnd, ref decoded);
            return FinishInput(json, binary, ref binaryOffset, index, name, shape, type, binarySize, dataStart, dataEnd, ref decoded);
        }
        catch
        {
            decoded?.Dispose();
            throw;
        }
    }

    private static void ReadInputFields(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, int index, ref string? name, ref long[]? shape, ref DataType type,
        ref long binarySize, ref int dataStart, ref int dataEnd, ref Tensor? decoded)
    {
        var keys = new JsonKeys(new JsonFieldPath("inputs", index));
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (keys.Is(ref reader, "name"u8, 0))
            {
                reader.Read();
                name = reader.TokenType == JsonTokenType.String
                    ? JsonText.Read(ref reader, new JsonFieldPath("inputs", index, "name"))
                    : throw InferenceException.Invalid($"inputs[{index}].name must be a string");
            }
            else if (keys.Is(ref reader, "datatype"u8, 1))
            {
                reader.Read();
                if (!TryReadDataType(ref reader, out type))
                {
                    throw InferenceException.Invalid($"inputs[{index}].datatype must be one of {string.Join(", ", DataTypes.All.Select(t => t.ProtocolName()))}");
                }
            }
            else if (keys.Is(ref reader, "shape"u8, 2))
            {
                reader.Read();
                shape = ReadShape(ref reader, new JsonFieldPath("inputs", index, "shape"));
            }
            else if (keys.Is(ref reader, "parameters"u8, 3))
            {
                reader.Read();
                var parameters = new JsonFieldPath("inputs", index, "parameters");
                ExpectObject(ref reader, parameters);
                var parameterKeys = new JsonKeys(parameters);
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (parameterKeys.Is(ref reader, "binary_data_size"u8, 0))
                    {
                        reader.Read();
                        binarySize = ReadNonNegative(ref reader, new JsonFieldPath("inputs", index, "parameters.binary_data_size"), int.MaxValue);
                    }
                    else if (IsSharedMemoryParameter(ref reader))
                    {
                        throw SharedMemoryNotSupported(reader, $"input '{name ?? $"inputs[{index}]"}'", "refers to", "send its data in the request body");
                    }
                    else
                    {
                        parameterKeys.Other(ref reader);
                        JsonText.Skip(ref reader, parameters);
                    }
                }
            }
            else if (keys.Is(ref reader, "data"u8, 4))
            {
                reader.Read();
                if (name is not null && shape is not null && type != DataType.Invalid && binarySize < 0)
                {
                    // The usual order (name, datatype, shape, data): decode in this one pass.
                    decoded = JsonTensorDecoder.Decode(name, type, shape, ref reader, json.Length - reader.TokenStartIndex);
                }
                else
                {
                    // The datatype or shape comes after the data: remember where it is and decode it last.
                    dataStart = (int)reader.TokenStartIndex;
                    reader.Skip();
                    dataEnd = (int)reader.BytesConsumed;
                }
            }
            else
            {
                keys.Other(ref reader);
                JsonText.Skip(ref reader, new JsonFieldPath("inputs", index));
            }
        }
    }

    private static Tensor FinishInput(ReadOnlySpan<byte> json, ReadOnlySpan<byte> binary, ref int binaryOffset, int index, string? name, long[]? shape, DataType type,
        long binarySize, int dataStart, int dataEnd, ref Tensor? decoded)
    {
        if (name is null)
        {
            throw InferenceException.Invalid($"inputs[{index}] has no 'name'");
        }
        if (type == DataType.Invalid)
        {
            throw InferenceException.Invalid($"input '{name}' has no 'datatype'");
        }
        if (shape is null)
        {
            throw InferenceException.Invalid($"input '{name}' has no 'shape'");
        }
        if (binarySize >= 0)
        {
            if (dataStart >= 0 || decoded is not null)
            {
                throw InferenceException.Invalid($"input '{name}' has both 'data' and a binary_data_size; give one");
            }
            if (binarySize > binary.Length - binaryOffset)
            {
                throw InferenceException.Invalid($"input '{name}' declares binary_data_size {binarySize} but only {binary.Length - binaryOffset} bytes of binary data remain in the body");
            }
            var tensor = Tensor.Copy(name, type, shape, binary.Slice(binaryOffset, (int)binarySize));
            binaryOffset += (int)binarySize;
            return tensor;
        }
        if (decoded is not null)
        {
            var result = decoded;
            decoded = null;
            return result;
        }
        if (dataStart < 0)
        {
            throw InferenceException.Invalid($"input '{name}' has neither 'data' nor a binary_data_size parameter");
        }
        return JsonTensorDecoder.Decode(name, type, shape, json[dataStart..dataEnd]);
    }

    private static void ReadOutput(ref Utf8JsonReader reader, InferenceRequest request, ref Dictionary<string, bool>? perOutput)
    {
        var index = request.RequestedOutputs.Count;
        var output = new JsonFieldPath("outputs", index);
        ExpectObject(ref reader, output);
        string? name = null;
        bool? binary = null;
        var keys = new JsonKeys(output);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (keys.Is(ref reader, "name"u8, 0))
            {
                reader.Read();
                name = reader.TokenType == JsonTokenType.String
                    ? JsonText.Read(ref reader, new JsonFieldPath("outputs", index, "name"))
                    : throw InferenceException.Invalid($"outputs[{index}].name must be a string");
            }
            else if (keys.Is(ref reader, "parameters"u8, 1))
            {
                reader.Read();
                var parameters = new JsonFieldPath("outputs", index, "parameters");
                ExpectObject(ref reader, parameters);
                var parameterKeys = new JsonKeys(parameters);
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (parameterKeys.Is(ref reader, "binary_data"u8, 0))
                    {
                        reader.Read();
                        binary = ReadBool(ref reader, new JsonFieldPath("outputs", index, "parameters.binary_data"));
                    }
                    else if (reader.ValueTextEquals("classification"u8))
                    {
                        throw InferenceException.Invalid($"outputs[{index}] asks for the classification extension, which this server does not support");
                    }
                    else if (IsSharedMemoryParameter(ref reader))
                    {
                        throw SharedMemoryNotSupported(reader, $"output '{name ?? $"outputs[{index}]"}'", "asks to be written to", "leave the shared-memory parameters out to get it in the response");
                    }
                    else
                    {
                        parameterKeys.Other(ref reader);
                        JsonText.Skip(ref reader, parameters);
                    }
                }
            }
            else
            {
                keys.Other(ref reader);
                JsonText.Skip(ref reader, output);
            }
        }
        if (name is null)
        {
            throw InferenceException.Invalid($"outputs[{index}] has no 'name'");
        }
        request.RequestedOutputs.Add(name);
        if (binary is not null)
        {
            (perOutput ??= new Dictionary<string, bool>(StringComparer.Ordinal))[name] = binary.Value;
        }
    }

    // Triton's shared-memory parameters (SharedMemory's names), read without decoding the property name.
    private static bool IsSharedMemoryParameter(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals(SharedMemory.RegionParameter) || reader.ValueTextEquals(SharedMemory.ByteSizeParameter)
        || reader.ValueTextEquals(SharedMemory.OffsetParameter);

    // Without this, an input whose data is in a region would be answered "has neither 'data' nor a binary_data_size".
    // The reader (a copy) is on the first shared-memory parameter; the region is named if it is given there or later.
    private static InferenceException SharedMemoryNotSupported(Utf8JsonReader reader, string tensor, string verb, string instead)
    {
        string? region = null;
        do
        {
            // Decoded, not compared: a later key has not had its text checked, and comparing an escaped one could throw.
            var isRegion = JsonText.TryRead(ref reader, out var key) && key == SharedMemory.RegionParameter;
            reader.Read();
            if (isRegion && reader.TokenType == JsonTokenType.String && JsonText.TryRead(ref reader, out var text))
            {
                region = text;
                break;
            }
            reader.Skip();
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName);
        return SharedMemory.NotSupported(tensor, verb, region, instead);
    }

    private static long[] ReadShape(ref Utf8JsonReader reader, JsonFieldPath field)
    {
        ExpectArray(ref reader, field);
        Span<long> dims = stackalloc long[16];
        var rank = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var dim) || dim < 0)
            {
                throw InferenceException.Invalid($"{field} must be an array of non-negative integers");
            }
            if (rank == dims.Length)
            {
                throw InferenceException.Invalid($"{field} has more than {dims.Length} dimensions");
            }
            dims[rank++] = dim;
        }
        return dims[..rank].ToArray();
    }

    // Parses the datatype in place rather than through GetString: it is one of a few fixed names,
    // and a string per input per request for it is garbage.
    private static bool TryReadDataType(ref Utf8JsonReader reader, out DataType type)
    {
        type = DataType.Invalid;
        if (reader.TokenType != JsonTokenType.String)
        {
            return false;
        }
        // The longest name (UINT16) is 36 bytes of JSON even with every character \u-escaped, and the
        // unescaped text never has more UTF-16 characters than the raw text has bytes.
        Span<char> name = stackalloc char[64];
        var length = reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length;
        if (length > name.Length)
        {
            return false;
        }
        int written;
        try
        {
            written = reader.CopyString(name);
        }
        catch (InvalidOperationException)
        {
            // Not valid text (JsonText): no datatype's name either.
            return false;
        }
        return DataTypes.TryParseProtocolName(name[..written], out type);
    }

    private static bool ReadBool(ref Utf8JsonReader reader, JsonFieldPath field) => reader.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        _ => throw InferenceException.Invalid($"{field} must be true or false"),
    };

    private static long ReadNonNegative(ref Utf8JsonReader reader, JsonFieldPath field, long max)
    {
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var value) || value < 0 || value > max)
        {
            throw InferenceException.Invalid($"{field} must be an integer from 0 to {max}");
        }
        return value;
    }

    private static void ExpectObject(ref Utf8JsonReader reader, JsonFieldPath field)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw InferenceException.Invalid($"{field} must be a JSON object");
        }
    }

    private static void ExpectArray(ref Utf8JsonReader reader, JsonFieldPath field)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw InferenceException.Invalid($"{field} must be a JSON array");
        }
    }
}
