using System.Text;
using Google.Protobuf.Reflection;

namespace InferenceServer.Core.Repository;

/// <summary>How messages about a config name a field's type and an enum's values, for both of its spellings.</summary>
internal static class ConfigFieldTypes
{
    /// <summary>What a value of <paramref name="field"/> must be: <c>an integer</c>, <c>a data type name</c>, ...</summary>
    public static string Expected(FieldDescriptor field) => field.FieldType switch
    {
        FieldType.String or FieldType.Bytes => "a quoted string",
        FieldType.Bool => "true or false",
        FieldType.Float or FieldType.Double => "a number",
        FieldType.Enum => $"a {EnumWhat(field.EnumType)} name",
        FieldType.Message or FieldType.Group => "a message ('{ ... }')",
        _ => "an integer",
    };

    /// <summary>True for the 64-bit integer types, which protobuf's JSON mapping writes as strings.</summary>
    public static bool Is64Bit(FieldType type) =>
        type is FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 or FieldType.UInt64 or FieldType.Fixed64;

    /// <summary>True for the unsigned integer types.</summary>
    public static bool IsUnsigned(FieldType type) => type is FieldType.UInt32 or FieldType.Fixed32 or FieldType.UInt64 or FieldType.Fixed64;

    /// <summary>
    /// An enum in words, from its type name: <c>DataType</c> is "data type", <c>TimeoutAction</c> "timeout action";
    /// Triton's <c>Model</c> prefix says nothing here (<c>ModelPriority</c> is "priority").
    /// </summary>
    public static string EnumWhat(EnumDescriptor type)
    {
        var name = type.Name.StartsWith("Model", StringComparison.Ordinal) && type.Name.Length > 5 ? type.Name[5..] : type.Name;
        var words = new StringBuilder(name.Length + 4);
        foreach (var c in name)
        {
            if (char.IsAsciiLetterUpper(c) && words.Length > 0)
            {
                words.Append(' ');
            }
            words.Append(char.ToLowerInvariant(c));
        }
        return words.ToString();
    }

    /// <summary>The names of an enum's values in number order: <c>REJECT, DELAY</c>.</summary>
    public static string EnumChoices(EnumDescriptor type)
    {
        var names = new List<string>(type.Values.Count);
        foreach (var value in type.Values)
        {
            names.Add(value.Name);
        }
        return string.Join(", ", names);
    }

    /// <summary>The name of <paramref name="number"/> in <paramref name="type"/>, or the number when it has none.</summary>
    public static string EnumName(EnumDescriptor type, int number) =>
        type.FindValueByNumber(number)?.Name ?? number.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
