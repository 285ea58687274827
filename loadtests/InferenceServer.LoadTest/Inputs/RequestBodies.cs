using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using InferenceServer.Protocols.Grpc.Messages;

namespace InferenceServer.LoadTest.Inputs;

/// <summary>Builds, once per distinct input, the body each protocol sends.</summary>
internal static class RequestBodies
{
    /// <summary>A v2 JSON request: the JSONL line as it was, or the tensors written as JSON <c>data</c>.</summary>
    public static byte[] RestJson(InferenceInput input)
    {
        if (input.Json is not null)
        {
            return input.Json;
        }
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("inputs"u8);
            foreach (var tensor in input.Inputs)
            {
                writer.WriteStartObject();
                WriteTensorHeader(writer, tensor);
                writer.WriteStartArray("data"u8);
                WriteJsonData(writer, tensor);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            WriteOutputs(writer, input.Outputs, input.Parameters, binary: false);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// A request in the binary tensor extension: a JSON header naming each input's <c>binary_data_size</c> and asking
    /// for binary outputs, then the raw tensors in order. Returns the body and the header's length.
    /// </summary>
    public static (byte[] Body, int HeaderLength) RestBinary(InferenceInput input)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("inputs"u8);
            foreach (var tensor in input.Inputs)
            {
                writer.WriteStartObject();
                WriteTensorHeader(writer, tensor);
                writer.WriteStartObject("parameters"u8);
                writer.WriteNumber("binary_data_size"u8, tensor.Data.Length);
                writer.WriteEndObject();
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            WriteOutputs(writer, input.Outputs, input.Parameters, binary: true);
            writer.WriteEndObject();
        }
        var headerLength = buffer.WrittenCount;
        foreach (var tensor in input.Inputs)
        {
            buffer.Write(tensor.Data);
        }
        return (buffer.WrittenSpan.ToArray(), headerLength);
    }

    /// <summary>A serialized <c>ModelInferRequest</c> with the tensors in <c>raw_input_contents</c>, sent as it is every time.</summary>
    public static byte[] Grpc(InferenceInput input, string model, string? version)
    {
        var request = new ModelInferRequest { ModelName = model, ModelVersion = version ?? "" };
        foreach (var tensor in input.Inputs)
        {
            var message = new ModelInferRequest.Types.InferInputTensor { Name = tensor.Name, Datatype = tensor.DataType };
            message.Shape.AddRange(tensor.Shape);
            request.Inputs.Add(message);
            request.RawInputContents.Add(ByteString.CopyFrom(tensor.Data));
        }
        foreach (var output in input.Outputs)
        {
            request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = output });
        }
        if (input.Parameters is { } parameters)
        {
            foreach (var parameter in parameters.EnumerateObject())
            {
                request.Parameters[parameter.Name] = parameter.Value.ValueKind switch
                {
                    JsonValueKind.String => new InferParameter { StringParam = parameter.Value.GetString()! },
                    JsonValueKind.True or JsonValueKind.False => new InferParameter { BoolParam = parameter.Value.GetBoolean() },
                    _ when parameter.Value.TryGetInt64(out var integer) => new InferParameter { Int64Param = integer },
                    _ => new InferParameter { DoubleParam = parameter.Value.GetDouble() },
                };
            }
        }
        return request.ToByteArray();
    }

    private static void WriteTensorHeader(Utf8JsonWriter writer, InputTensor tensor)
    {
        writer.WriteString("name"u8, tensor.Name);
        writer.WriteString("datatype"u8, tensor.DataType);
        writer.WriteStartArray("shape"u8);
        foreach (var dim in tensor.Shape)
        {
            writer.WriteNumberValue(dim);
        }
        writer.WriteEndArray();
    }

    private static void WriteOutputs(Utf8JsonWriter writer, IReadOnlyList<string> outputs, JsonElement? parameters, bool binary)
    {
        if (outputs.Count > 0)
        {
            writer.WriteStartArray("outputs"u8);
            foreach (var output in outputs)
            {
                writer.WriteStartObject();
                writer.WriteString("name"u8, output);
                if (binary)
                {
                    writer.WriteStartObject("parameters"u8);
                    writer.WriteBoolean("binary_data"u8, true);
                    writer.WriteEndObject();
                }
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
        // The request's own parameters, and when it names no output: every output, each in binary.
        var allBinary = binary && outputs.Count == 0;
        if (parameters is null && !allBinary)
        {
            return;
        }
        writer.WriteStartObject("parameters"u8);
        if (parameters is { } own)
        {
            foreach (var parameter in own.EnumerateObject())
            {
                parameter.WriteTo(writer);
            }
        }
        if (allBinary)
        {
            writer.WriteBoolean("binary_data_output"u8, true);
        }
        writer.WriteEndObject();
    }

    private static void WriteJsonData(Utf8JsonWriter writer, InputTensor tensor)
    {
        var data = tensor.Data.AsSpan();
        if (tensor.DataType == "BYTES")
        {
            while (data.Length >= 4)
            {
                var length = BinaryPrimitives.ReadInt32LittleEndian(data);
                writer.WriteStringValue(Encoding.UTF8.GetString(data.Slice(4, length)));
                data = data[(4 + length)..];
            }
            return;
        }
        var size = TensorTypes.ElementSize(tensor.DataType);
        for (var at = 0; at + size <= data.Length; at += size)
        {
            var e = data[at..];
            switch (tensor.DataType)
            {
                case "BOOL": writer.WriteBooleanValue(e[0] != 0); break;
                case "UINT8": writer.WriteNumberValue(e[0]); break;
                case "INT8": writer.WriteNumberValue((sbyte)e[0]); break;
                case "UINT16": writer.WriteNumberValue(BinaryPrimitives.ReadUInt16LittleEndian(e)); break;
                case "INT16": writer.WriteNumberValue(BinaryPrimitives.ReadInt16LittleEndian(e)); break;
                case "UINT32": writer.WriteNumberValue(BinaryPrimitives.ReadUInt32LittleEndian(e)); break;
                case "INT32": writer.WriteNumberValue(BinaryPrimitives.ReadInt32LittleEndian(e)); break;
                case "UINT64": writer.WriteNumberValue(BinaryPrimitives.ReadUInt64LittleEndian(e)); break;
                case "INT64": writer.WriteNumberValue(BinaryPrimitives.ReadInt64LittleEndian(e)); break;
                case "FP16": writer.WriteNumberValue((float)BinaryPrimitives.ReadHalfLittleEndian(e)); break;
                case "BF16": writer.WriteNumberValue(BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(e) << 16)); break;
                case "FP32": writer.WriteNumberValue(BinaryPrimitives.ReadSingleLittleEndian(e)); break;
                default: writer.WriteNumberValue(BinaryPrimitives.ReadDoubleLittleEndian(e)); break;
            }
        }
    }
}
