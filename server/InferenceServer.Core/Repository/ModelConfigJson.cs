using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace InferenceServer.Core.Repository;

/// <summary>
/// A <see cref="ModelConfig"/> in JSON, both ways through protobuf's own JSON mapping (<see cref="JsonParser"/>,
/// <see cref="JsonFormatter"/>) with the proto field names, as Triton's config endpoint and load API use it.
/// </summary>
public static class ModelConfigJson
{
    // Triton prints fields even at their defaults (clients such as perf_analyzer read them), under their proto names.
    private static readonly JsonFormatter Formatter =
        new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true).WithPreserveProtoFieldNames(true));

    /// <summary>
    /// Parses and validates a config written in JSON, as the repository API's <c>config</c> load parameter carries it:
    /// field names in snake_case or lowerCamelCase, maps as objects, 64-bit integers and enum values as numbers or
    /// strings, <c>null</c> as "not given". It is held to config.pbtxt's rules and messages: an unknown field is a
    /// warning naming the closest known one, a failure names the field and its line and column.
    /// </summary>
    /// <param name="json">The JSON object.</param>
    /// <param name="sourceName">Used only in messages, e.g. <c>load parameter 'config'</c>.</param>
    /// <param name="limits">The server's bounds on what a config may ask for; none when null.</param>
    /// <exception cref="ModelConfigException">Malformed JSON, a wrongly typed value, or failed validation.</exception>
    internal static ModelConfigReadResult Parse(string json, string sourceName = "config", ModelConfigLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        var reader = new ConfigJsonReader(sourceName);
        var known = reader.Scan(Encoding.UTF8.GetBytes(json), ModelConfig.Descriptor);
        ModelConfig config;
        try
        {
            config = JsonParser.Default.Parse<ModelConfig>(known);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidJsonException or FormatException or OverflowException or InvalidOperationException)
        {
            throw reader.Explain(known, ModelConfig.Descriptor, e).WithUnknownFields(reader.Warnings);
        }
        return ModelConfigReadResult.Validate(config, sourceName, reader.Positions, reader.Warnings, limits);
    }

    /// <summary>
    /// Writes <paramref name="config"/> as Triton's <c>GET /v2/models/{name}/config</c> returns it: proto field names,
    /// enum values by name, every field written even at its default, and 64-bit integers as JSON numbers. protobuf's
    /// JSON mapping writes those as strings; Triton turns them back into numbers after formatting, and so does this,
    /// by the field types of the descriptor.
    /// </summary>
    public static void Write(Utf8JsonWriter writer, ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(config);
        var formatted = Encoding.UTF8.GetBytes(Formatter.Format(config));
        var reader = new Utf8JsonReader(formatted);
        reader.Read();
        CopyMessage(ref reader, writer, ModelConfig.Descriptor);
    }

    /// <summary>The config as <see cref="Write"/> writes it, as UTF-8 bytes ready for a response body.</summary>
    public static byte[] ToUtf8Bytes(ModelConfig config, bool indented = false)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented }))
        {
            Write(writer, config);
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The config as <see cref="Write"/> writes it.</summary>
    public static string Format(ModelConfig config) => Encoding.UTF8.GetString(ToUtf8Bytes(config));

    // The reader is on a StartObject of a message of type descriptor; copies through its EndObject.
    private static void CopyMessage(ref Utf8JsonReader reader, Utf8JsonWriter writer, MessageDescriptor descriptor)
    {
        writer.WriteStartObject();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            var field = descriptor.FindFieldByName(name);
            writer.WritePropertyName(name);
            reader.Read();
            if (field is { IsMap: true } && reader.TokenType == JsonTokenType.StartObject)
            {
                var valueField = field.MessageType.FindFieldByNumber(2);
                writer.WriteStartObject();
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    writer.WritePropertyName(reader.GetString()!);
                    reader.Read();
                    CopyValue(ref reader, writer, valueField);
                }
                writer.WriteEndObject();
            }
            else if (reader.TokenType == JsonTokenType.StartArray)
            {
                writer.WriteStartArray();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    CopyValue(ref reader, writer, field);
                }
                writer.WriteEndArray();
            }
            else
            {
                CopyValue(ref reader, writer, field);
            }
        }
        writer.WriteEndObject();
    }

    private static void CopyValue(ref Utf8JsonReader reader, Utf8JsonWriter writer, FieldDescriptor? field)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject when field?.FieldType == FieldType.Message:
                CopyMessage(ref reader, writer, field.MessageType);
                break;
            case JsonTokenType.String when field is not null && ConfigFieldTypes.Is64Bit(field.FieldType):
                if (ConfigFieldTypes.IsUnsigned(field.FieldType))
                {
                    writer.WriteNumberValue(ulong.Parse(reader.GetString()!, CultureInfo.InvariantCulture));
                }
                else
                {
                    writer.WriteNumberValue(long.Parse(reader.GetString()!, CultureInfo.InvariantCulture));
                }
                break;
            default:
                using (var value = JsonDocument.ParseValue(ref reader))
                {
                    value.RootElement.WriteTo(writer);
                }
                break;
        }
    }
}
