using System.Text.Json;
using InferenceServer.Core.Features;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Protocols.Http;

/// <summary>
/// Writes a predict answer: the model and version that answered (and the variant, through a route), the feature view's
/// version, the outputs of each row by name, led by the view's label for the row's score
/// (<c>{"prediction": ">50K", "probability": 0.73}</c>; a list of those for a list), and the server-side latency.
/// </summary>
internal static class PredictResponseEncoder
{
    public static void Write(Utf8JsonWriter writer, InferenceResponse response, bool list, TimeSpan latency)
    {
        writer.WriteStartObject();
        writer.WriteString("model_name"u8, response.ModelName);
        writer.WriteString("model_version"u8, response.ModelVersion);
        if (response.Id.Length > 0)
        {
            writer.WriteString("id"u8, response.Id);
        }
        if (response.Variant is { } variant)
        {
            writer.WriteString(InferenceResponse.VariantParameter, variant);
        }
        if (response.FeatureView is { } view)
        {
            writer.WriteString("feature_view"u8, view.Name);
            writer.WriteNumber("feature_view_version"u8, view.Version);
        }
        writer.WritePropertyName("outputs"u8);
        var rows = PredictionLabels.Rows(response);
        if (list)
        {
            writer.WriteStartArray();
            for (var row = 0; row < rows; row++)
            {
                WriteRow(writer, response, row, rows);
            }
            writer.WriteEndArray();
        }
        else
        {
            WriteRow(writer, response, 0, rows);
        }
        writer.WriteNumber("server_latency_us"u8, (long)latency.TotalMicroseconds);
        writer.WriteEndObject();
    }

    private static void WriteRow(Utf8JsonWriter writer, InferenceResponse response, int row, int rows)
    {
        writer.WriteStartObject();
        if (PredictionLabels.TryRead(response, row, out var label, out _))
        {
            writer.WriteString(FeatureParameters.Prediction, label);
        }
        foreach (var output in response.Outputs)
        {
            writer.WritePropertyName(output.Name);
            var width = (int)(output.ElementCount / Math.Max(rows, 1));
            // A row's one value stands alone (probability: 0.73); a wider output is the row's array.
            JsonTensorEncoder.WriteData(writer, output, RowData(output, row, width), array: width != 1);
        }
        writer.WriteEndObject();
    }

    private static ReadOnlySpan<byte> RowData(Tensor output, int row, int width)
    {
        var data = (ReadOnlySpan<byte>)output.Data;
        if (output.DataType != DataType.Bytes)
        {
            var size = output.DataType.ElementSize() * width;
            return data.Slice(row * size, size);
        }
        // Variable-length elements: walk the length prefixes to the row's first element, then over its width.
        var start = Skip(data, 0, row * width);
        return data[start..Skip(data, start, width)];
    }

    private static int Skip(ReadOnlySpan<byte> data, int offset, int elements)
    {
        for (var i = 0; i < elements; i++)
        {
            offset += BytesTensorLayout.PrefixSize + (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(data[offset..]);
        }
        return offset;
    }
}
