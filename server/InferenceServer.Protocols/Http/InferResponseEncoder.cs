using System.Text.Json;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Protocols.Http;

/// <summary>
/// Writes a v2 infer response: the JSON object, then, for outputs the client asked to get as
/// binary, their bytes in output order (the binary tensor extension).
/// </summary>
internal static class InferResponseEncoder
{
    /// <summary>Writes the JSON part into <paramref name="json"/>; returns how many bytes of binary data follow it.</summary>
    public static long WriteJson(PooledBufferWriter json, InferenceResponse response, OutputFormat format)
    {
        long binaryLength = 0;
        using var writer = new Utf8JsonWriter(json, new JsonWriterOptions { SkipValidation = true });
        writer.WriteStartObject();
        writer.WriteString("model_name"u8, response.ModelName);
        writer.WriteString("model_version"u8, response.ModelVersion);
        if (response.Id.Length > 0)
        {
            writer.WriteString("id"u8, response.Id);
        }
        writer.WriteStartArray("outputs"u8);
        foreach (var output in response.Outputs)
        {
            writer.WriteStartObject();
            writer.WriteString("name"u8, output.Name);
            writer.WriteString("datatype"u8, output.DataType.ProtocolName());
            writer.WriteStartArray("shape"u8);
            foreach (var dim in output.Shape)
            {
                writer.WriteNumberValue(dim);
            }
            writer.WriteEndArray();
            if (format.IsBinary(output.Name))
            {
                writer.WriteStartObject("parameters"u8);
                writer.WriteNumber("binary_data_size"u8, output.ByteLength);
                writer.WriteEndObject();
                binaryLength += output.ByteLength;
            }
            else
            {
                writer.WritePropertyName("data"u8);
                JsonTensorEncoder.WriteData(writer, output);
            }
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
        return binaryLength;
    }
}
