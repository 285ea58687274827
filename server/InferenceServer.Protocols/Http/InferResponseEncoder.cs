using System.Text.Json;
using InferenceServer.Core.Features;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;
using InferenceServer.Protocols.Buffers;

namespace InferenceServer.Protocols.Http;

/// <summary>
/// Writes a v2 infer response: the JSON object, then, for outputs the client asked to get as
/// binary, their bytes in output order (the binary tensor extension).
/// </summary>
internal static class InferResponseEncoder
{
    // A writer per thread, reset onto each response's buffer: a new Utf8JsonWriter was most of what
    // encoding a response allocated. WriteJson is synchronous and never nested, so a thread's writer
    // is only ever used by one response at a time.
    [ThreadStatic]
    private static Utf8JsonWriter? _threadWriter;

    /// <summary>Writes the JSON part into <paramref name="json"/>; returns how many bytes of binary data follow it.</summary>
    public static long WriteJson(PooledBufferWriter json, InferenceResponse response, OutputFormat format)
    {
        var writer = _threadWriter;
        if (writer is null)
        {
            writer = _threadWriter = new Utf8JsonWriter(json, V2Json.UncheckedWriterOptions);
        }
        else
        {
            // Also drops whatever a response that failed half-way left in the writer.
            writer.Reset(json);
        }
        var binaryLength = WriteResponse(writer, response, format);
        writer.Flush();
        return binaryLength;
    }

    private static long WriteResponse(Utf8JsonWriter writer, InferenceResponse response, OutputFormat format)
    {
        long binaryLength = 0;
        writer.WriteStartObject();
        writer.WriteString("model_name"u8, response.ModelName);
        writer.WriteString("model_version"u8, response.ModelVersion);
        if (response.Id.Length > 0)
        {
            writer.WriteString("id"u8, response.Id);
        }
        if (response.Variant is not null || response.FeatureView is not null)
        {
            // The v2 response's own parameters: the variant of a route that answered, for clients that read no headers;
            // for inputs a feature view made, its version and the label of the first row's score, as gRPC has them.
            writer.WriteStartObject("parameters"u8);
            if (response.Variant is { } variant)
            {
                writer.WriteString(InferenceResponse.VariantParameter, variant);
            }
            if (response.FeatureView is { } view)
            {
                writer.WriteNumber(FeatureParameters.ViewVersion, view.Version);
                if (PredictionLabels.TryRead(response, 0, out var label, out _))
                {
                    writer.WriteString(FeatureParameters.Prediction, label);
                }
            }
            writer.WriteEndObject();
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
