using System.Text;
using System.Text.Json;

namespace InferenceServer.FunctionalTests.Hardening;

/// <summary>
/// Mutations of a valid JSON document that keep most of it intact, so that the request gets past the first check and
/// reaches the code behind it: a value swapped for an edge case (huge numbers, the wrong type, a bad shape or
/// datatype), invalid UTF-8 or a lone surrogate inside a string, duplicate keys, deep nesting, long values, and plain
/// byte damage.
/// </summary>
internal static class JsonMutator
{
    public static readonly string[] Names =
    [
        "edge-case value", "edge-case number", "invalid UTF-8 in a string", "bad escape in a string", "duplicate key",
        "delete a value", "duplicate an array element", "wrap a value", "deep nesting", "type confusion",
        "long value", "shape confusion", "datatype confusion", "byte damage",
    ];

    private static readonly string[] Values =
    [
        "null", "true", "false", "\"\"", "\"x\"", "0", "-0", "-1", "1.5", "1e39", "-1e39", "1e400", "-1e-400",
        "18446744073709551616", "-9223372036854775809", "2147483648", "4294967296", "NaN", "Infinity", "\"NaN\"",
        "\"Infinity\"", "[]", "{}", "[null]", "[[]]", "{\"\":{}}", "\"\\u0000\"", "[1e39]", "[\"\"]",
    ];

    private static readonly string[] Numbers =
    [
        "1e39", "-1e39", "3.5e38", "1e309", "-1e309", "65520", "-65520", "2147483648", "-2147483649", "4294967296",
        "9223372036854775808", "-9223372036854775809", "18446744073709551616", "1e-46", "1e-400", "0.1e1", "01", "1.",
        "-", "1e", "0x10", "+1", "1.0", "255.5", "256", "-129", "32768", "65536", "1E+2", "123456789012345678901234567890",
    ];

    private static readonly byte[][] InvalidUtf8 =
    [
        [0xFF], [0xC0, 0x80], [0xC3, 0x28], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80],
        [0xF0, 0x9F, 0x98], [0xFE, 0xFE, 0xFF, 0xFF], [0xC3],
    ];

    private static readonly string[] Escapes =
    [
        "\\ud800", "\\udfff", "\\udc00\\ud800", "\\ud800x", "\\u0000", "\\u12", "\\x41", "\\", "\\uDBFF\\uDBFF", "\\ud83d",
    ];

    private static readonly string[] Shapes =
    [
        "[]", "[-1]", "[0]", "[1, -16]", "[4294967296, 16]", "[9223372036854775807]", "[1, 16, 1]", "[16]",
        "[2147483647, 2147483647]", "[1, 0]", "[-9223372036854775808]", "[1.5, 16]", "[\"1\", \"16\"]", "[null]",
        "[3037000500, 3037000500]", "[65536, 65536, 65536]", "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33]",
        "{}", "16", "\"16\"",
    ];

    private static readonly string[] Datatypes =
    [
        "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "BF16", "FP32", "FP64",
        "BYTES", "STRING", "fp32", "FP8", "", "FP32 ", "TYPE_FP32", "INT3\\u0032", "\\u0000",
    ];

    private readonly record struct Token(int Start, int End, JsonTokenType Type, string? Name);

    /// <summary>Applies mutation <paramref name="kind"/> (an index into <see cref="Names"/>); returns the bytes and what was done.</summary>
    public static (byte[] Bytes, string What) Mutate(byte[] json, Random random, int kind)
    {
        var tokens = Scan(json);
        var values = tokens.Where(t => t.Type != JsonTokenType.PropertyName).ToList();
        if (values.Count == 0 || kind == 13)
        {
            var damage = random.Next(ByteMutator.Names.Length);
            return (ByteMutator.Mutate(json, random, damage), ByteMutator.Names[damage]);
        }
        Token Pick(IReadOnlyList<Token> from) => from[random.Next(from.Count)];
        List<Token> Among(Func<Token, bool> predicate)
        {
            var found = values.Where(predicate).ToList();
            return found.Count > 0 ? found : values;
        }
        switch (kind)
        {
            case 0:
            {
                var value = Pick(values);
                var fragment = Values[random.Next(Values.Length)];
                return (Replace(json, value, fragment), $"value at {value.Start} -> {fragment}");
            }
            case 1:
            {
                var number = Pick(Among(t => t.Type == JsonTokenType.Number));
                var fragment = Numbers[random.Next(Numbers.Length)];
                return (Replace(json, number, fragment), $"number at {number.Start} -> {fragment}");
            }
            case 2:
            {
                var text = Pick(Among(t => t.Type == JsonTokenType.String));
                var bad = InvalidUtf8[random.Next(InvalidUtf8.Length)];
                var inside = text.Type == JsonTokenType.String ? text.Start + 1 + random.Next(Math.Max(1, text.End - text.Start - 1)) : text.Start;
                return (Splice(json, inside, inside, bad), $"invalid UTF-8 {Convert.ToHexString(bad)} at {inside}");
            }
            case 3:
            {
                var text = Pick(Among(t => t.Type == JsonTokenType.String));
                var escape = Escapes[random.Next(Escapes.Length)];
                var inside = text.Type == JsonTokenType.String ? text.End - 1 : text.Start;
                return (Splice(json, inside, inside, Encoding.ASCII.GetBytes(escape)), $"escape {escape} at {inside}");
            }
            case 4:
            {
                var properties = tokens.Where(t => t.Type == JsonTokenType.PropertyName).ToList();
                if (properties.Count == 0)
                {
                    goto default;
                }
                var property = Pick(properties);
                var twin = random.Next(2) == 0
                    ? Encoding.UTF8.GetBytes(Quote(property.Name!) + ": " + Values[random.Next(Values.Length)] + ", ")
                    : [.. Encoding.UTF8.GetBytes(Quote(property.Name!) + ": "), .. ValueAfter(json, tokens, property), .. ", "u8.ToArray()];
                return (Splice(json, property.Start, property.Start, twin), $"duplicate key '{property.Name}'");
            }
            case 5:
            {
                var value = Pick(values);
                return (Splice(json, value.Start, value.End, []), $"deleted the value at {value.Start}");
            }
            case 6:
            {
                var element = Pick(values);
                var copy = json.AsSpan(element.Start, element.End - element.Start).ToArray();
                return (Splice(json, element.End, element.End, [.. ", "u8.ToArray(), .. copy]), $"repeated the value at {element.Start}");
            }
            case 7:
            {
                var value = Pick(values);
                var inner = json.AsSpan(value.Start, value.End - value.Start).ToArray();
                var (open, close) = random.Next(2) == 0 ? ("["u8.ToArray(), "]"u8.ToArray()) : ("{\"x\": "u8.ToArray(), "}"u8.ToArray());
                return (Replace(json, value, [.. open, .. inner, .. close]), $"wrapped the value at {value.Start}");
            }
            case 8:
            {
                var value = Pick(values);
                int[] depths = [63, 64, 65, 1000, 100_000];
                var depth = depths[random.Next(depths.Length)];
                var nested = new StringBuilder(depth * 2 + 1).Append('[', depth).Append('1').Append(']', depth).ToString();
                return (Replace(json, value, nested), $"value at {value.Start} nested {depth} deep");
            }
            case 9:
            {
                var value = Pick(values);
                var text = json.AsSpan(value.Start, value.End - value.Start).ToArray();
                byte[] confused = value.Type == JsonTokenType.String && text.Length >= 2 ? text[1..^1]
                    : [(byte)'"', .. text.Where(b => b != (byte)'"'), (byte)'"'];
                return (Replace(json, value, confused), $"type of the value at {value.Start} changed");
            }
            case 10:
            {
                var value = Pick(values);
                var length = random.Next(2) == 0 ? 100_000 : 1_000;
                var fragment = random.Next(2) == 0
                    ? "\"" + new string('a', length) + "\""
                    : "[" + string.Join(",", Enumerable.Repeat("0", length)) + "]";
                return (Replace(json, value, fragment), $"value at {value.Start} -> {length} long");
            }
            case 11:
            {
                var shape = Pick(Among(t => t.Name == "shape"));
                var fragment = Shapes[random.Next(Shapes.Length)];
                return (Replace(json, shape, fragment), $"shape at {shape.Start} -> {fragment}");
            }
            case 12:
            {
                var datatype = Pick(Among(t => t.Name == "datatype"));
                var fragment = Quote(Datatypes[random.Next(Datatypes.Length)], escape: false);
                return (Replace(json, datatype, fragment), $"datatype at {datatype.Start} -> {fragment}");
            }
            default:
            {
                var damage = random.Next(ByteMutator.Names.Length);
                return (ByteMutator.Mutate(json, random, damage), ByteMutator.Names[damage]);
            }
        }
    }

    /// <summary>One to three mutations of random kinds; the first kind is <paramref name="firstKind"/> when given.</summary>
    public static (byte[] Bytes, string What) MutateSome(byte[] json, Random random, int? firstKind = null)
    {
        var what = new List<string>();
        var bytes = json;
        for (var step = 0; step < (random.Next(4) == 0 ? random.Next(2, 4) : 1); step++)
        {
            var kind = step == 0 && firstKind is { } first ? first : random.Next(Names.Length);
            (bytes, var done) = Mutate(bytes, random, kind);
            what.Add($"{Names[kind]}: {done}");
        }
        return (bytes, string.Join("; ", what));
    }

    // Every token of the document (as far as it is valid), containers with their whole extent; values remember the
    // property they belong to.
    private static List<Token> Scan(byte[] json)
    {
        var tokens = new List<Token>();
        var reader = new Utf8JsonReader(json);
        string? property = null;
        try
        {
            while (reader.Read())
            {
                var start = (int)reader.TokenStartIndex;
                switch (reader.TokenType)
                {
                    case JsonTokenType.EndArray or JsonTokenType.EndObject:
                        continue;
                    case JsonTokenType.PropertyName:
                        property = reader.GetString();
                        tokens.Add(new Token(start, StringEnd(json, start), JsonTokenType.PropertyName, property));
                        continue;
                    case JsonTokenType.StartArray or JsonTokenType.StartObject:
                        var copy = reader;
                        copy.Skip();
                        tokens.Add(new Token(start, (int)copy.BytesConsumed, reader.TokenType, property));
                        break;
                    case JsonTokenType.String:
                        tokens.Add(new Token(start, StringEnd(json, start), reader.TokenType, property));
                        break;
                    default:
                        tokens.Add(new Token(start, (int)reader.BytesConsumed, reader.TokenType, property));
                        break;
                }
                property = null;
            }
        }
        catch (JsonException)
        {
            // Already damaged by an earlier mutation: the tokens before the damage.
        }
        catch (InvalidOperationException)
        {
            // A property name that is not valid UTF-8 cannot be read as text.
        }
        return tokens;
    }

    // Just past the closing quote of the string whose opening quote is at start.
    private static int StringEnd(byte[] json, int start)
    {
        for (var i = start + 1; i < json.Length; i++)
        {
            if (json[i] == (byte)'\\')
            {
                i++;
            }
            else if (json[i] == (byte)'"')
            {
                return i + 1;
            }
        }
        return json.Length;
    }

    private static byte[] ValueAfter(byte[] json, List<Token> tokens, Token property)
    {
        var index = tokens.IndexOf(property);
        return index + 1 < tokens.Count ? json.AsSpan(tokens[index + 1].Start, tokens[index + 1].End - tokens[index + 1].Start).ToArray() : "null"u8.ToArray();
    }

    private static string Quote(string text, bool escape = true) => escape ? JsonSerializer.Serialize(text) : "\"" + text + "\"";

    private static byte[] Replace(byte[] json, Token token, string fragment) => Splice(json, token.Start, token.End, Encoding.UTF8.GetBytes(fragment));

    private static byte[] Replace(byte[] json, Token token, byte[] fragment) => Splice(json, token.Start, token.End, fragment);

    private static byte[] Splice(byte[] json, int start, int end, byte[] insert) => [.. json.AsSpan(0, start), .. insert, .. json.AsSpan(end)];
}
