using System.Buffers;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace InferenceServer.Core.Repository;

/// <summary>
/// What protobuf's JSON parser does not do for a config in JSON: it refuses an unknown field where config.pbtxt only
/// warns, and it says neither where a bad value is nor in which field. This reader walks the JSON once against the
/// message descriptor before the parser sees it: it notes where each field is (for the checks made afterwards), warns
/// about unknown fields (named in snake_case, with the closest known one) and hands the parser the JSON without them.
/// When the parser then refuses the JSON, <see cref="Explain"/> finds the field it refused by parsing the parts on
/// their own, and says what was wrong there. Single use.
/// </summary>
internal sealed class ConfigJsonReader(string sourceName)
{
    private readonly HashSet<string> _warnedPaths = new(StringComparer.Ordinal);
    private readonly List<int> _lineStarts = [0];

    /// <summary>The unknown fields met, in document order.</summary>
    public List<ModelConfigWarning> Warnings { get; } = [];

    public ConfigPositions Positions { get; } = new();

    /// <summary>Reads <paramref name="json"/> against <paramref name="descriptor"/>; returns it without its unknown fields.</summary>
    /// <exception cref="ModelConfigException">The text is not one JSON object.</exception>
    public string Scan(byte[] json, MessageDescriptor descriptor)
    {
        for (var i = 0; i < json.Length; i++)
        {
            if (json[i] == (byte)'\n')
            {
                _lineStarts.Add(i + 1);
            }
        }
        var output = new ArrayBufferWriter<byte>(json.Length);
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        try
        {
            using (var writer = new Utf8JsonWriter(output))
            {
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                {
                    throw new ModelConfigException(sourceName, 1, 1, null, "a JSON model config must be an object");
                }
                CopyMessage(ref reader, writer, descriptor, "");
            }
            // Text after the object is malformed JSON to the reader.
            reader.Read();
        }
        catch (JsonException e)
        {
            throw new ModelConfigException(sourceName, (int)(e.LineNumber ?? 0) + 1, (int)(e.BytePositionInLine ?? 0) + 1, null, $"malformed JSON: {e.Message}", e);
        }
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    /// <summary>
    /// The error for JSON (as <see cref="Scan"/> returned it) that protobuf's parser refused with <paramref name="refusal"/>:
    /// at the innermost field that fails to parse on its own, saying what that field expects.
    /// </summary>
    public ModelConfigException Explain(string json, MessageDescriptor descriptor, Exception refusal)
    {
        using var document = JsonDocument.Parse(json);
        if (Locate(document.RootElement, descriptor, "") is { } found)
        {
            var (line, column) = Positions.Value(found.Path);
            return new ModelConfigException(sourceName, line, column, found.Path, found.Reason ?? Describe(found.Field, found.Value, found.IsElement), refusal);
        }
        return new ModelConfigException(sourceName, 1, 1, null, $"not a model config: {refusal.Message}", refusal);
    }

    // The reader is on a StartObject; copies through its EndObject.
    private void CopyMessage(ref Utf8JsonReader reader, Utf8JsonWriter writer, MessageDescriptor descriptor, string path)
    {
        writer.WriteStartObject();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var (line, column) = Position(reader.TokenStartIndex);
            var name = Text(ref reader, path.Length == 0 ? "a field name" : $"a field name in '{path}'");
            var field = Find(descriptor, name);
            reader.Read();
            if (field is null)
            {
                // protobuf's JSON names are lowerCamelCase; the config's own are snake_case, which messages use.
                var unknownPath = Join(path, SnakeCase(name));
                if (_warnedPaths.Add(unknownPath))
                {
                    Warnings.Add(ModelConfigWarning.UnknownField(sourceName, line, column, unknownPath, FieldNameSuggester.Closest(SnakeCase(name), descriptor)));
                }
                reader.Skip();
                continue;
            }
            writer.WritePropertyName(name);
            if (reader.TokenType == JsonTokenType.Null)
            {
                // protobuf's JSON mapping: null means not given.
                writer.WriteNullValue();
                continue;
            }
            var fieldPath = Join(path, field.Name);
            var (valueLine, valueColumn) = Position(reader.TokenStartIndex);
            Positions.Add(fieldPath, line, column, valueLine, valueColumn);
            if (field.IsMap && reader.TokenType == JsonTokenType.StartObject)
            {
                CopyMap(ref reader, writer, field, fieldPath);
            }
            else if (field.IsRepeated && !field.IsMap && reader.TokenType == JsonTokenType.StartArray)
            {
                writer.WriteStartArray();
                for (var i = 0; reader.Read() && reader.TokenType != JsonTokenType.EndArray; i++)
                {
                    var (elementLine, elementColumn) = Position(reader.TokenStartIndex);
                    Positions.Add($"{fieldPath}[{i}]", line, column, elementLine, elementColumn);
                    CopyValue(ref reader, writer, field, $"{fieldPath}[{i}]");
                }
                writer.WriteEndArray();
            }
            else
            {
                CopyValue(ref reader, writer, field, fieldPath);
            }
        }
        writer.WriteEndObject();
    }

    // A map is written as {"key": value, ...}: entry i is the i-th key, in the order written.
    private void CopyMap(ref Utf8JsonReader reader, Utf8JsonWriter writer, FieldDescriptor field, string mapPath)
    {
        var valueField = field.MessageType.FindFieldByNumber(2);
        writer.WriteStartObject();
        for (var i = 0; reader.Read() && reader.TokenType == JsonTokenType.PropertyName; i++)
        {
            var (line, column) = Position(reader.TokenStartIndex);
            var entryPath = $"{mapPath}[{i}]";
            var key = Text(ref reader, $"'{entryPath}.key'");
            Positions.Add(entryPath, line, column, line, column);
            Positions.Add($"{entryPath}.key", line, column, line, column);
            Positions.AddMapEntry(mapPath, key, i);
            writer.WritePropertyName(key);
            reader.Read();
            if (reader.TokenType != JsonTokenType.Null)
            {
                var (valueLine, valueColumn) = Position(reader.TokenStartIndex);
                Positions.Add($"{entryPath}.value", line, column, valueLine, valueColumn);
            }
            CopyValue(ref reader, writer, valueField, $"{entryPath}.value");
        }
        writer.WriteEndObject();
    }

    private void CopyValue(ref Utf8JsonReader reader, Utf8JsonWriter writer, FieldDescriptor field, string path)
    {
        if (reader.TokenType == JsonTokenType.StartObject && field.FieldType == FieldType.Message)
        {
            CopyMessage(ref reader, writer, field.MessageType, path);
            return;
        }
        // Anything else goes to the parser as written, to be taken or refused there.
        var start = reader.TokenStartIndex;
        using var value = JsonDocument.ParseValue(ref reader);
        try
        {
            value.RootElement.WriteTo(writer);
        }
        catch (InvalidOperationException e)
        {
            // Writing it out decodes each string, which is where its text is checked (see Text).
            var (line, column) = Position(start);
            throw new ModelConfigException(sourceName, line, column, path, $"has a string that is {NotUtf8}", e);
        }
    }

    private const string NotUtf8 = "not valid UTF-8 text (an invalid byte sequence, or an unpaired surrogate escape such as \\ud800); JSON strings must be UTF-8";

    // The string the reader is on. Utf8JsonReader checks a string's text only when it decodes it, and reports it as
    // InvalidOperationException, not the JsonException of malformed JSON: that is the config's error, not the server's.
    private string Text(ref Utf8JsonReader reader, string what)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException e)
        {
            var (line, column) = Position(reader.TokenStartIndex);
            throw new ModelConfigException(sourceName, line, column, null, $"{what} is {NotUtf8}", e);
        }
    }

    private (string Path, FieldDescriptor Field, JsonElement Value, bool IsElement, string? Reason)? Locate(JsonElement message, MessageDescriptor descriptor, string path)
    {
        Dictionary<OneofDescriptor, string>? chosen = null;
        foreach (var property in message.EnumerateObject())
        {
            var field = Find(descriptor, property.Name);
            if (field is null || property.Value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }
            var fieldPath = Join(path, field.Name);
            var value = property.Value;
            if (field.RealContainingOneof is { } oneof)
            {
                chosen ??= [];
                if (chosen.TryGetValue(oneof, out var other))
                {
                    return (fieldPath, field, value, false, $"cannot be given together with '{other}'; only one of them is allowed");
                }
                chosen[oneof] = field.Name;
            }
            if (Parses(descriptor, property.Name, value.GetRawText()))
            {
                continue;
            }
            if (field.IsMap && value.ValueKind == JsonValueKind.Object)
            {
                var valueField = field.MessageType.FindFieldByNumber(2);
                var i = 0;
                foreach (var entry in value.EnumerateObject())
                {
                    var entryPath = $"{fieldPath}[{i++}].value";
                    if (valueField.FieldType == FieldType.Message && entry.Value.ValueKind == JsonValueKind.Object)
                    {
                        if (!Parses(valueField.MessageType, entry.Value.GetRawText()))
                        {
                            return Locate(entry.Value, valueField.MessageType, entryPath) ?? (entryPath, valueField, entry.Value, false, null);
                        }
                    }
                    else if (!Parses(descriptor, property.Name, $"{{{JsonSerializer.Serialize(entry.Name)}: {entry.Value.GetRawText()}}}"))
                    {
                        return (entryPath, valueField, entry.Value, false, null);
                    }
                }
            }
            else if (field.IsRepeated && !field.IsMap && value.ValueKind == JsonValueKind.Array)
            {
                var i = 0;
                foreach (var element in value.EnumerateArray())
                {
                    var elementPath = $"{fieldPath}[{i++}]";
                    if (field.FieldType == FieldType.Message && element.ValueKind == JsonValueKind.Object)
                    {
                        if (!Parses(field.MessageType, element.GetRawText()))
                        {
                            return Locate(element, field.MessageType, elementPath) ?? (elementPath, field, element, true, null);
                        }
                    }
                    else if (!Parses(descriptor, property.Name, $"[{element.GetRawText()}]"))
                    {
                        return (elementPath, field, element, true, null);
                    }
                }
            }
            else if (field.FieldType == FieldType.Message && !field.IsRepeated && value.ValueKind == JsonValueKind.Object)
            {
                return Locate(value, field.MessageType, fieldPath) ?? (fieldPath, field, value, false, null);
            }
            return (fieldPath, field, value, false, null);
        }
        return null;
    }

    private static bool Parses(MessageDescriptor descriptor, string name, string rawValue) =>
        Parses(descriptor, $"{{{JsonSerializer.Serialize(name)}: {rawValue}}}");

    private static bool Parses(MessageDescriptor descriptor, string json)
    {
        try
        {
            JsonParser.Default.Parse(json, descriptor);
            return true;
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidJsonException or FormatException or OverflowException or InvalidOperationException)
        {
            return false;
        }
    }

    // What the field expects, in the words config.pbtxt's errors use.
    private static string Describe(FieldDescriptor field, JsonElement value, bool isElement)
    {
        var found = value.ValueKind switch
        {
            JsonValueKind.String => $"the string \"{value.GetString()}\"",
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "a list",
            _ => value.GetRawText(),
        };
        if (field.IsMap && value.ValueKind != JsonValueKind.Object)
        {
            return $"expected an object of keys and values, found {found}";
        }
        if (field.IsRepeated && !field.IsMap && !isElement && value.ValueKind != JsonValueKind.Array)
        {
            return $"is a repeated field; expected a list, found {found}";
        }
        if (!field.IsRepeated && value.ValueKind == JsonValueKind.Array)
        {
            return "is not a repeated field; a list is not allowed";
        }
        switch (field.FieldType)
        {
            case FieldType.Message:
                return $"expected a message (an object), found {found}";
            case FieldType.Enum:
            {
                var what = ConfigFieldTypes.EnumWhat(field.EnumType);
                return value.ValueKind == JsonValueKind.String
                    ? $"unknown {what} '{value.GetString()}'; expected one of {ConfigFieldTypes.EnumChoices(field.EnumType)}"
                    : $"expected a {what} name, found {found}";
            }
            case FieldType.Bool or FieldType.String or FieldType.Bytes or FieldType.Float or FieldType.Double:
                return $"expected {ConfigFieldTypes.Expected(field)}, found {found}";
            default:
                var digits = value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
                var integral = digits.Length > (digits.StartsWith('-') ? 1 : 0) && !digits.AsSpan(digits.StartsWith('-') ? 1 : 0).ContainsAnyExceptInRange('0', '9');
                return integral ? $"integer {digits} is out of range; expected {Range(field.FieldType)}" : $"expected an integer, found {found}";
        }
    }

    private static string Range(FieldType type) => type switch
    {
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => $"{int.MinValue} to {int.MaxValue}",
        FieldType.UInt32 or FieldType.Fixed32 => $"0 to {uint.MaxValue}",
        FieldType.UInt64 or FieldType.Fixed64 => $"0 to {ulong.MaxValue}",
        _ => $"{long.MinValue} to {long.MaxValue}",
    };

    private static FieldDescriptor? Find(MessageDescriptor descriptor, string name)
    {
        var field = descriptor.FindFieldByName(name);
        if (field is not null)
        {
            return field;
        }
        foreach (var candidate in descriptor.Fields.InFieldNumberOrder())
        {
            if (candidate.JsonName == name)
            {
                return candidate;
            }
        }
        return null;
    }

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    /// <summary>protobuf's JSON names are lowerCamelCase; its parsers accept the proto (snake_case) names too.</summary>
    private static string SnakeCase(string name)
    {
        if (!name.AsSpan().ContainsAnyInRange('A', 'Z'))
        {
            return name;
        }
        var text = new StringBuilder(name.Length + 4);
        foreach (var c in name)
        {
            if (char.IsAsciiLetterUpper(c))
            {
                text.Append('_').Append(char.ToLowerInvariant(c));
            }
            else
            {
                text.Append(c);
            }
        }
        return text.ToString();
    }

    // Byte offset → 1-based line and column, for messages that point into the JSON.
    private (int Line, int Column) Position(long offset)
    {
        var index = _lineStarts.BinarySearch((int)offset);
        var line = index >= 0 ? index : ~index - 1;
        return (line + 1, (int)offset - _lineStarts[line] + 1);
    }
}
