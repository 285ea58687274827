using System.Text;
using System.Text.Json;
using InferenceServer.Core.Repository.TextFormat;

namespace InferenceServer.Core.Repository;

/// <summary>
/// Reads a model config written in JSON (protobuf's JSON mapping of Triton's <c>ModelConfig</c>, as
/// the repository API's <c>config</c> load parameter carries it) into a <see cref="ModelConfig"/>.
/// The JSON becomes the same field tree the text format parses into, so both spellings go through
/// one reader with one set of checks and messages. Field names may be snake_case or lowerCamelCase;
/// map fields (<c>parameters</c>, warm-up <c>inputs</c>, <c>priority_queue_policy</c>) are JSON
/// objects; 64-bit integers and enum values may be strings; <c>null</c> means "not given".
/// </summary>
public static class ModelConfigJsonReader
{
    // The ModelConfig map fields whose JSON form is an object keyed by the map key.
    private static readonly HashSet<string> MapFields = new(StringComparer.Ordinal)
    {
        "parameters", "inputs", "priority_queue_policy", "metric_tags", "cc_model_filenames",
    };

    /// <summary>Parses and validates JSON config text.</summary>
    /// <param name="json">The JSON object.</param>
    /// <param name="sourceName">Used only in messages, e.g. <c>load parameter 'config'</c>.</param>
    /// <exception cref="ModelConfigException">Malformed JSON, a wrongly typed value, or failed validation.</exception>
    public static ModelConfigReadResult Parse(string json, string sourceName = "config")
    {
        ArgumentNullException.ThrowIfNull(json);
        var bytes = Encoding.UTF8.GetBytes(json);
        var positions = new Positions(bytes);
        TextMessage root;
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new ModelConfigException(sourceName, 1, 1, null, "a JSON model config must be an object");
            }
            root = ReadObject(ref reader, positions, sourceName);
            // Text after the object is malformed JSON to the reader.
            reader.Read();
        }
        catch (JsonException e)
        {
            throw new ModelConfigException(sourceName, (int)(e.LineNumber ?? 0) + 1, (int)(e.BytePositionInLine ?? 0) + 1, null, $"malformed JSON: {e.Message}", e);
        }
        var treeReader = new ModelConfigTreeReader(sourceName);
        var config = treeReader.Read(root);
        return new ModelConfigReadResult { Config = config, Warnings = treeReader.Warnings };
    }

    // The reader is on a StartObject; reads through its EndObject.
    private static TextMessage ReadObject(ref Utf8JsonReader reader, Positions positions, string sourceName)
    {
        var (line, column) = positions.Of(reader.TokenStartIndex);
        var fields = new List<TextField>();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var (nameLine, nameColumn) = positions.Of(reader.TokenStartIndex);
            var name = SnakeCase(reader.GetString()!);
            reader.Read();
            if (reader.TokenType == JsonTokenType.StartObject && MapFields.Contains(name))
            {
                ReadMap(ref reader, positions, sourceName, name, nameLine, nameColumn, fields);
            }
            else if (reader.TokenType == JsonTokenType.StartArray)
            {
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType == JsonTokenType.StartArray)
                    {
                        var (l, c) = positions.Of(reader.TokenStartIndex);
                        throw new ModelConfigException(sourceName, l, c, name, "a list cannot hold a list");
                    }
                    if (reader.TokenType != JsonTokenType.Null)
                    {
                        fields.Add(ReadValue(ref reader, positions, sourceName, name, nameLine, nameColumn, inList: true));
                    }
                }
            }
            else if (reader.TokenType != JsonTokenType.Null)
            {
                fields.Add(ReadValue(ref reader, positions, sourceName, name, nameLine, nameColumn, inList: false));
            }
        }
        return new TextMessage(fields, line, column);
    }

    // A map is written as {"key": value, ...}; the tree has one entry message per key, as the text format writes it.
    private static void ReadMap(ref Utf8JsonReader reader, Positions positions, string sourceName, string name, int nameLine, int nameColumn, List<TextField> fields)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var (keyLine, keyColumn) = positions.Of(reader.TokenStartIndex);
            var key = new TextField
            {
                Name = "key",
                Line = keyLine,
                Column = keyColumn,
                Kind = TextValueKind.String,
                Text = reader.GetString()!,
                ValueLine = keyLine,
                ValueColumn = keyColumn,
                FromJson = true,
            };
            reader.Read();
            var entryFields = new List<TextField> { key };
            if (reader.TokenType != JsonTokenType.Null)
            {
                entryFields.Add(ReadValue(ref reader, positions, sourceName, "value", keyLine, keyColumn, inList: false));
            }
            fields.Add(new TextField
            {
                Name = name,
                Line = nameLine,
                Column = nameColumn,
                Kind = TextValueKind.Message,
                Message = new TextMessage(entryFields, keyLine, keyColumn),
                ValueLine = keyLine,
                ValueColumn = keyColumn,
                FromJson = true,
            });
        }
    }

    private static TextField ReadValue(ref Utf8JsonReader reader, Positions positions, string sourceName, string name, int nameLine, int nameColumn, bool inList)
    {
        var (line, column) = positions.Of(reader.TokenStartIndex);
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                return new TextField
                {
                    Name = name, Line = nameLine, Column = nameColumn, Kind = TextValueKind.Message,
                    Message = ReadObject(ref reader, positions, sourceName), ValueLine = line, ValueColumn = column, InList = inList, FromJson = true,
                };
            case JsonTokenType.String:
                return Scalar(name, nameLine, nameColumn, TextValueKind.String, reader.GetString()!, line, column, inList);
            case JsonTokenType.Number:
            {
                var text = Encoding.UTF8.GetString(reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan);
                var integral = text.AsSpan().IndexOfAny('.', 'e', 'E') < 0;
                return Scalar(name, nameLine, nameColumn, integral ? TextValueKind.Integer : TextValueKind.Float, text, line, column, inList);
            }
            case JsonTokenType.True or JsonTokenType.False:
                return Scalar(name, nameLine, nameColumn, TextValueKind.Identifier, reader.TokenType == JsonTokenType.True ? "true" : "false", line, column, inList);
            default:
                throw new ModelConfigException(sourceName, line, column, name, $"unexpected JSON {reader.TokenType}");
        }
    }

    private static TextField Scalar(string name, int nameLine, int nameColumn, TextValueKind kind, string text, int line, int column, bool inList) => new()
    {
        Name = name, Line = nameLine, Column = nameColumn, Kind = kind, Text = text, ValueLine = line, ValueColumn = column, InList = inList, FromJson = true,
    };

    /// <summary>protobuf's JSON names are lowerCamelCase; its parsers accept the proto (snake_case) names too.</summary>
    internal static string SnakeCase(string name)
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
    private sealed class Positions
    {
        private readonly List<int> _lineStarts = [0];

        public Positions(byte[] bytes)
        {
            for (var i = 0; i < bytes.Length; i++)
            {
                if (bytes[i] == (byte)'\n')
                {
                    _lineStarts.Add(i + 1);
                }
            }
        }

        public (int Line, int Column) Of(long offset)
        {
            var index = _lineStarts.BinarySearch((int)offset);
            var line = index >= 0 ? index : ~index - 1;
            return (line + 1, (int)offset - _lineStarts[line] + 1);
        }
    }
}
