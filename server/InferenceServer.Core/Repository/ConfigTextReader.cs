using System.Collections;
using System.Globalization;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using InferenceServer.Core.Repository.TextFormat;

namespace InferenceServer.Core.Repository;

/// <summary>
/// Reads a parsed text-format tree into a protobuf message by walking the message's descriptor: field names, scalar
/// types and their ranges, enum names and numbers, repeated and map fields, nested messages and oneofs all come from
/// the schema, so no field has code of its own here. A name the schema does not have is warned about, with the
/// closest name it does have, and skipped. Protobuf's C# library reads binary and JSON but not the text format, hence
/// this reader; the tokenizer and parser under <c>TextFormat</c> turn the text into the tree it walks. Where each
/// field was written is kept in <see cref="Positions"/> for the checks made on the message afterwards. Single use.
/// </summary>
internal sealed class ConfigTextReader(string fileName)
{
    private readonly HashSet<string> _warnedPaths = new(StringComparer.Ordinal);

    /// <summary>The unknown fields met so far, in file order.</summary>
    public List<ModelConfigWarning> Warnings { get; } = [];

    public ConfigPositions Positions { get; } = new();

    /// <summary>
    /// Parses <paramref name="text"/> (the contents of <paramref name="fileName"/>, as messages name it) and fills
    /// <paramref name="target"/> from it; returns the reader, whose <see cref="Warnings"/> list the unknown fields met
    /// and whose <see cref="Positions"/> say where each field was written. The one way config.pbtxt, routing.pbtxt and
    /// features.pbtxt are read, so their errors read alike.
    /// </summary>
    /// <exception cref="ModelConfigException">A syntax error, or a wrong value (then also naming the unknown fields met before it).</exception>
    public static ConfigTextReader ReadText(string text, string fileName, IMessage target)
    {
        TextMessage root;
        try
        {
            root = TextParser.Parse(text, fileName);
        }
        catch (TextFormatException e)
        {
            throw new ModelConfigException(e.FileName, e.Line, e.Column, fieldPath: null, e.Reason, e);
        }
        var reader = new ConfigTextReader(fileName);
        try
        {
            reader.Read(target, root);
        }
        catch (ModelConfigException e)
        {
            throw e.WithUnknownFields(reader.Warnings);
        }
        return reader;
    }

    /// <summary>Fills <paramref name="target"/> from <paramref name="text"/>.</summary>
    /// <exception cref="ModelConfigException">A value of the wrong type or out of its type's range, or a field given twice.</exception>
    public void Read(IMessage target, TextMessage text) => ReadMessage(target, text, "");

    private void ReadMessage(IMessage target, TextMessage text, string path)
    {
        var descriptor = target.Descriptor;
        HashSet<int>? given = null;
        Dictionary<OneofDescriptor, TextField>? chosen = null;
        Dictionary<int, int>? occurrences = null;
        foreach (var f in text.Fields)
        {
            var fieldPath = path.Length == 0 ? f.Name : $"{path}.{f.Name}";
            var field = descriptor.FindFieldByName(f.Name);
            if (field is null)
            {
                Unknown(f, fieldPath, descriptor);
                continue;
            }
            Note(fieldPath, f);
            if (field.IsRepeated)
            {
                // A list element and a repeated occurrence are the same thing; maps are repeated entries.
                occurrences ??= [];
                occurrences.TryGetValue(field.FieldNumber, out var index);
                occurrences[field.FieldNumber] = index + 1;
                var elementPath = $"{fieldPath}[{index}]";
                Note(elementPath, f);
                if (field.IsMap)
                {
                    ReadMapEntry((IDictionary)field.Accessor.GetValue(target), field, f, fieldPath, index);
                }
                else
                {
                    ((IList)field.Accessor.GetValue(target)).Add(ReadValue(field, f, elementPath));
                }
                continue;
            }

            if (f.InList)
            {
                throw FieldError(f, fieldPath, "is not a repeated field; list syntax '[ ... ]' is not allowed");
            }
            given ??= [];
            if (!given.Add(field.FieldNumber))
            {
                throw FieldError(f, fieldPath, "is given more than once");
            }
            if (field.RealContainingOneof is { } oneof)
            {
                chosen ??= [];
                if (chosen.TryGetValue(oneof, out var other))
                {
                    throw FieldError(f, fieldPath, $"cannot be given together with '{other.Name}' (line {other.Line}); only one of them is allowed");
                }
                chosen[oneof] = f;
            }
            field.Accessor.SetValue(target, ReadValue(field, f, fieldPath));
        }
    }

    // A map entry is written as a message of 'key' and 'value'; either may be left out and then holds its default, as
    // in protobuf. A key given twice keeps the last value (protobuf's rule); the positions remember both entries.
    private void ReadMapEntry(IDictionary map, FieldDescriptor field, TextField f, string mapPath, int index)
    {
        var entryPath = $"{mapPath}[{index}]";
        if (f.Kind != TextValueKind.Message)
        {
            throw ValueError(f, entryPath, $"expected a message ('{{ ... }}'), found {Describe(f)}");
        }
        var entry = field.MessageType;
        var keyField = entry.FindFieldByNumber(1);
        var valueField = entry.FindFieldByNumber(2);
        TextField? key = null, value = null;
        foreach (var g in f.Message!.Fields)
        {
            var p = $"{entryPath}.{g.Name}";
            if (g.Name != keyField.Name && g.Name != valueField.Name)
            {
                Unknown(g, p, entry);
                continue;
            }
            if (g.InList)
            {
                throw FieldError(g, p, "is not a repeated field; list syntax '[ ... ]' is not allowed");
            }
            if ((g.Name == keyField.Name ? key : value) is not null)
            {
                throw FieldError(g, p, "is given more than once");
            }
            Note(p, g);
            if (g.Name == keyField.Name)
            {
                key = g;
            }
            else
            {
                value = g;
            }
        }
        var keyValue = key is null ? DefaultValue(keyField) : ReadValue(keyField, key, $"{entryPath}.{keyField.Name}");
        map[keyValue] = value is null ? DefaultValue(valueField) : ReadValue(valueField, value, $"{entryPath}.{valueField.Name}");
        Positions.AddMapEntry(mapPath, Convert.ToString(keyValue, CultureInfo.InvariantCulture)!, index);
    }

    private object ReadValue(FieldDescriptor field, TextField f, string path)
    {
        switch (field.FieldType)
        {
            case FieldType.Message or FieldType.Group:
            {
                if (f.Kind != TextValueKind.Message)
                {
                    throw ValueError(f, path, $"expected a message ('{{ ... }}'), found {Describe(f)}");
                }
                var message = NewMessage(field);
                ReadMessage(message, f.Message!, path);
                return message;
            }
            case FieldType.String:
                return ReadString(field, f, path);
            case FieldType.Bytes:
                return ByteString.CopyFromUtf8(ReadString(field, f, path));
            case FieldType.Bool:
                return TextScalars.TryParseBool(f.Kind, f.Text, out var flag) ? flag : throw Expected(field, f, path);
            case FieldType.Float or FieldType.Double:
            {
                if (f.Kind is not (TextValueKind.Integer or TextValueKind.Float or TextValueKind.Identifier)
                    || !TextScalars.TryParseDouble(f.Text, out var number))
                {
                    throw Expected(field, f, path);
                }
                // Boxed as the field's own type: a conditional of float and double would box a double, which a float field's setter refuses.
                return field.FieldType == FieldType.Float ? (object)(float)number : number;
            }
            case FieldType.Enum:
                return Enum.ToObject(field.EnumType.ClrType, ReadEnum(field.EnumType, f, path));
            case FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32:
                return (int)ReadInteger(field, f, path, int.MinValue, int.MaxValue);
            case FieldType.UInt32 or FieldType.Fixed32:
                return (uint)ReadInteger(field, f, path, 0, uint.MaxValue);
            case FieldType.UInt64 or FieldType.Fixed64:
                return (ulong)ReadInteger(field, f, path, 0, long.MaxValue);
            default:
                return ReadInteger(field, f, path, long.MinValue, long.MaxValue);
        }
    }

    private string ReadString(FieldDescriptor field, TextField f, string path) =>
        f.Kind == TextValueKind.String ? f.Text : throw Expected(field, f, path);

    private long ReadInteger(FieldDescriptor field, TextField f, string path, long min, long max)
    {
        if (f.Kind != TextValueKind.Integer)
        {
            throw Expected(field, f, path);
        }
        if (!TextScalars.TryParseInt64(f.Text, out var value))
        {
            throw ValueError(f, path, $"integer {f.Text} is out of range");
        }
        if (value < min || value > max)
        {
            var reason = value > max ? $"must be at most {max}, got {value}"
                : min == 0 ? $"must not be negative, got {value}"
                : $"must be at least {min}, got {value}";
            throw ValueError(f, path, reason);
        }
        return value;
    }

    private int ReadEnum(EnumDescriptor type, TextField f, string path)
    {
        var what = ConfigFieldTypes.EnumWhat(type);
        switch (f.Kind)
        {
            case TextValueKind.Identifier:
                return type.FindValueByName(f.Text)?.Number
                    ?? throw ValueError(f, path, $"unknown {what} '{f.Text}'; expected one of {ConfigFieldTypes.EnumChoices(type)}");
            case TextValueKind.Integer:
                // The text format allows an enum's number in place of its name.
                return TextScalars.TryParseInt64(f.Text, out var number) && number is >= int.MinValue and <= int.MaxValue
                    && type.FindValueByNumber((int)number) is { } value
                    ? value.Number
                    : throw ValueError(f, path, $"unknown {what} number {f.Text}");
            case TextValueKind.String:
                throw ValueError(f, path, $"expected a {what} name without quotes, found \"{f.Text}\"");
            default:
                throw ValueError(f, path, $"expected a {what} name, found {Describe(f)}");
        }
    }

    private void Unknown(TextField f, string path, MessageDescriptor descriptor)
    {
        if (_warnedPaths.Add(path))
        {
            Warnings.Add(ModelConfigWarning.UnknownField(fileName, f.Line, f.Column, path, FieldNameSuggester.Closest(f.Name, descriptor)));
        }
    }

    private void Note(string path, TextField f) => Positions.Add(path, f.Line, f.Column, f.ValueLine, f.ValueColumn);

    /// <summary>A new, empty message of <paramref name="field"/>'s type.</summary>
    internal static IMessage NewMessage(FieldDescriptor field) => (IMessage)Activator.CreateInstance(field.MessageType.ClrType)!;

    /// <summary>What an unset field holds, typed as its accessor and its map expect it.</summary>
    internal static object DefaultValue(FieldDescriptor field) => field.FieldType switch
    {
        FieldType.Message or FieldType.Group => NewMessage(field),
        FieldType.String => "",
        FieldType.Bytes => ByteString.Empty,
        FieldType.Bool => false,
        FieldType.Float => 0f,
        FieldType.Double => 0d,
        FieldType.Enum => Enum.ToObject(field.EnumType.ClrType, 0),
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => 0,
        FieldType.UInt32 or FieldType.Fixed32 => 0u,
        FieldType.UInt64 or FieldType.Fixed64 => 0UL,
        _ => 0L,
    };

    private static string Describe(TextField f) => f.Kind switch
    {
        TextValueKind.Message => "a message",
        TextValueKind.String => $"the string \"{f.Text}\"",
        TextValueKind.Identifier => $"'{f.Text}'",
        _ => f.Text,
    };

    private ModelConfigException Expected(FieldDescriptor field, TextField f, string path) =>
        ValueError(f, path, $"expected {ConfigFieldTypes.Expected(field)}, found {Describe(f)}");

    private ModelConfigException FieldError(TextField f, string path, string reason) => new(fileName, f.Line, f.Column, path, reason);

    private ModelConfigException ValueError(TextField f, string path, string reason) => new(fileName, f.ValueLine, f.ValueColumn, path, reason);
}
