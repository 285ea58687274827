using System.Collections;
using System.Globalization;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace InferenceServer.Core.Repository.TextFormat;

/// <summary>
/// Writes a protobuf message in the text format, by walking its descriptor as <see cref="ConfigTextReader"/> reads it,
/// so that reading the text back gives an equal message. Protobuf's C# library writes binary and JSON but not the text
/// format, hence this writer. Every set field is written, in declaration order: a scalar that is not its default (or,
/// in a oneof or with explicit presence, one that is set), every message that is present (an empty <c>reshape { }</c>
/// means something), repeated scalars as a list (<c>dims: [ 58 ]</c>), repeated messages as a list of messages as
/// Triton's own configs write them, map entries one per <c>key</c>/<c>value</c> message in key order, enums by name,
/// strings escaped, floats and doubles in their shortest round-trippable form. Comments of a file that was read are
/// not kept (the reader does not keep them); a header comment may be given instead.
/// </summary>
internal static class TextFormatWriter
{
    private const string Indent = "  ";

    /// <summary>
    /// The text of <paramref name="message"/>; <paramref name="header"/>, when given, is written first as comment lines
    /// (each line prefixed <c># </c>).
    /// </summary>
    public static string Write(IMessage message, string? header = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        var text = new StringBuilder();
        if (header is not null)
        {
            foreach (var line in header.Split('\n'))
            {
                text.Append(line.Length == 0 ? "#" : "# " + line.TrimEnd('\r')).Append('\n');
            }
        }
        WriteFields(text, message, 0);
        return text.ToString();
    }

    private static void WriteFields(StringBuilder text, IMessage message, int depth)
    {
        foreach (var field in message.Descriptor.Fields.InDeclarationOrder())
        {
            var value = field.Accessor.GetValue(message);
            if (field.IsMap)
            {
                WriteMap(text, field, (IDictionary)value, depth);
            }
            else if (field.IsRepeated)
            {
                WriteList(text, field, (IList)value, depth);
            }
            else if (IsSet(message, field, value))
            {
                if (field.FieldType is FieldType.Message or FieldType.Group)
                {
                    WriteMessage(text, field.Name, (IMessage)value, depth);
                }
                else
                {
                    Line(text, depth).Append(field.Name).Append(": ").Append(Scalar(field, value)).Append('\n');
                }
            }
        }
    }

    // proto3 scalars without presence are set when they differ from their default; a oneof member or an explicitly
    // optional field is set when chosen, whatever its value (zero_data: false still picks the oneof's case).
    private static bool IsSet(IMessage message, FieldDescriptor field, object? value)
    {
        if (field.FieldType is FieldType.Message or FieldType.Group)
        {
            return value is not null;
        }
        if (field.HasPresence)
        {
            return field.Accessor.HasValue(message);
        }
        return !Equals(value, ConfigTextReader.DefaultValue(field));
    }

    private static void WriteMessage(StringBuilder text, string name, IMessage message, int depth)
    {
        Line(text, depth).Append(name).Append(' ');
        WriteBody(text, message, depth);
        text.Append('\n');
    }

    // "{ ... }" over several lines, or "{ }" for a message with nothing set (dynamic_batching { } means batching on).
    private static void WriteBody(StringBuilder text, IMessage message, int depth)
    {
        text.Append("{\n");
        var start = text.Length;
        WriteFields(text, message, depth + 1);
        if (text.Length == start)
        {
            text.Length--;
            text.Append(" }");
            return;
        }
        Line(text, depth).Append('}');
    }

    private static void WriteList(StringBuilder text, FieldDescriptor field, IList values, int depth)
    {
        if (values.Count == 0)
        {
            return;
        }
        if (field.FieldType is not (FieldType.Message or FieldType.Group))
        {
            Line(text, depth).Append(field.Name).Append(": [ ");
            for (var i = 0; i < values.Count; i++)
            {
                text.Append(i == 0 ? "" : ", ").Append(Scalar(field, values[i]!));
            }
            text.Append(" ]\n");
            return;
        }
        Line(text, depth).Append(field.Name).Append(" [\n");
        for (var i = 0; i < values.Count; i++)
        {
            Line(text, depth + 1);
            WriteBody(text, (IMessage)values[i]!, depth + 1);
            text.Append(i + 1 < values.Count ? ",\n" : "\n");
        }
        Line(text, depth).Append("]\n");
    }

    // One entry per key, sorted so that the same map always reads the same (a map keeps no order of its own).
    private static void WriteMap(StringBuilder text, FieldDescriptor field, IDictionary map, int depth)
    {
        var keyField = field.MessageType.FindFieldByNumber(1);
        var valueField = field.MessageType.FindFieldByNumber(2);
        var keys = new List<object>(map.Count);
        foreach (var key in map.Keys)
        {
            keys.Add(key);
        }
        keys.Sort(static (a, b) => Comparer.DefaultInvariant.Compare(a, b));
        foreach (var key in keys)
        {
            Line(text, depth).Append(field.Name).Append(" {\n");
            Line(text, depth + 1).Append(keyField.Name).Append(": ").Append(Scalar(keyField, key)).Append('\n');
            var value = map[key]!;
            if (valueField.FieldType is FieldType.Message or FieldType.Group)
            {
                WriteMessage(text, valueField.Name, (IMessage)value, depth + 1);
            }
            else
            {
                Line(text, depth + 1).Append(valueField.Name).Append(": ").Append(Scalar(valueField, value)).Append('\n');
            }
            Line(text, depth).Append("}\n");
        }
    }

    private static string Scalar(FieldDescriptor field, object value) => field.FieldType switch
    {
        FieldType.String => Quote((string)value),
        // The reader takes a bytes field's text as UTF-8, so it is written as that text.
        FieldType.Bytes => Quote(((ByteString)value).ToStringUtf8()),
        FieldType.Bool => (bool)value ? "true" : "false",
        FieldType.Float => Float((float)value),
        FieldType.Double => Double((double)value),
        FieldType.Enum => field.EnumType.FindValueByNumber(Convert.ToInt32(value, CultureInfo.InvariantCulture))?.Name
            ?? Convert.ToInt32(value, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture)!,
    };

    // The shortest text that reads back as the same float; checked, because the reader parses a double and narrows it.
    private static string Float(float value)
    {
        if (!float.IsFinite(value))
        {
            return float.IsNaN(value) ? "nan" : value > 0 ? "inf" : "-inf";
        }
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        if ((float)double.Parse(text, CultureInfo.InvariantCulture) != value)
        {
            text = ((double)value).ToString("R", CultureInfo.InvariantCulture);
        }
        return AsFloatLiteral(text);
    }

    private static string Double(double value) =>
        double.IsFinite(value) ? AsFloatLiteral(value.ToString("R", CultureInfo.InvariantCulture)) : double.IsNaN(value) ? "nan" : value > 0 ? "inf" : "-inf";

    // "-0" would read as the integer 0 and lose its sign; "1" is a valid float too, but "1.0" says what the field holds.
    private static string AsFloatLiteral(string text) =>
        text.AsSpan().IndexOfAny('.', 'E', 'e') >= 0 ? text : text + ".0";

    /// <summary>A string literal in double quotes: quotes, backslashes and control characters escaped, other text as is (UTF-8).</summary>
    internal static string Quote(string value)
    {
        var text = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                default:
                    if (c < ' ' || c == '\x7F')
                    {
                        // Three octal digits always, so that a digit after it cannot join the escape.
                        text.Append('\\').Append(Convert.ToString(c, 8).PadLeft(3, '0'));
                    }
                    else
                    {
                        text.Append(c);
                    }
                    break;
            }
        }
        return text.Append('"').ToString();
    }

    private static StringBuilder Line(StringBuilder text, int depth)
    {
        for (var i = 0; i < depth; i++)
        {
            text.Append(Indent);
        }
        return text;
    }
}
