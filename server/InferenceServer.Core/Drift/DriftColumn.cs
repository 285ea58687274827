using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using InferenceServer.Core.Features;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Drift;

/// <summary>
/// One profiled feature, compiled for recording: where its value comes from (a view's raw field, or a column of an input
/// or output tensor) and, for a categorical one, the span lookup from a value to its category (the last index for any
/// other value). A value is recorded as a double: the number itself, or the category's index; NaN when missing.
/// </summary>
internal sealed class DriftColumn
{
    // Text up to this many UTF-8 bytes (store values) is decoded on the stack.
    private const int StackTextBytes = 256;

    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _categories;

    public DriftColumn(ProfiledFeature profile, FeatureField? field)
    {
        Profile = profile;
        IsNumeric = profile.IsNumeric;
        Field = field;
        (Tensor, Column) = TensorColumn(profile.Name);
        var categories = new Dictionary<string, int>(StringComparer.Ordinal);
        var names = profile.Categories ?? [];
        for (var i = 0; i < names.Length; i++)
        {
            categories.TryAdd(names[i], i);
        }
        Other = names.Length;
        _categories = categories.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The profile's distribution.</summary>
    public ProfiledFeature Profile { get; }

    /// <summary>True for a numeric feature.</summary>
    public bool IsNumeric { get; }

    /// <summary>The view's raw field (view level); null when the feature is a tensor's column.</summary>
    public FeatureField? Field { get; }

    /// <summary>The tensor the feature is a column of (tensor level, and predictions).</summary>
    public string Tensor { get; }

    /// <summary>The column of <see cref="Tensor"/>.</summary>
    public int Column { get; }

    /// <summary>The index every value outside the profile's categories is recorded as.</summary>
    public int Other { get; }

    /// <summary>The category index of <paramref name="text"/>.</summary>
    public double Category(ReadOnlySpan<char> text) => _categories.TryGetValue(text, out var index) ? index : Other;

    /// <summary>
    /// The raw value of <see cref="Field"/> in <paramref name="row"/>, as the view reads it (the request's, else the
    /// store's); NaN when neither has one, or when it is not a number where one was expected. Never throws: a value the
    /// view refuses fails the request elsewhere, and drift only describes what it sees.
    /// </summary>
    public double Value(FeatureRows rows, int row)
    {
        var field = Field!;
        if (field.FromRequest)
        {
            if (rows.Request.TryGetNumber(field.Index, row, out var number))
            {
                if (!double.IsNaN(number))
                {
                    return IsNumeric ? number : FormattedCategory(number);
                }
            }
            else if (rows.Request.TryGetText(field.Index, row, out var text))
            {
                if (!IsNumeric)
                {
                    return Category(text);
                }
                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed))
                {
                    return parsed;
                }
            }
        }
        if (field.StoreIndex >= 0 && rows.TryGetStoreValue(field.StoreIndex, row, out var stored))
        {
            if (IsNumeric)
            {
                return double.TryParse(stored, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? parsed : double.NaN;
            }
            return StoredCategory(stored);
        }
        return double.NaN;
    }

    /// <summary>The value at <paramref name="row"/> of a tensor <paramref name="width"/> values wide; NaN for a type without numbers.</summary>
    public double Value(Tensor tensor, int row, int width) => Element(tensor, row * width + Column);

    /// <summary>Element <paramref name="index"/> of <paramref name="tensor"/> as a double; NaN for a type without numbers.</summary>
    internal static double Element(Tensor tensor, int index)
    {
        var data = tensor.Data;
        return tensor.DataType switch
        {
            DataType.Fp32 => BinaryPrimitives.ReadSingleLittleEndian(data[(index * 4)..]),
            DataType.Fp64 => BinaryPrimitives.ReadDoubleLittleEndian(data[(index * 8)..]),
            DataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(data[(index * 4)..]),
            DataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(data[(index * 8)..]),
            DataType.UInt8 or DataType.Bool => data[index],
            DataType.Int8 => (sbyte)data[index],
            DataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(data[(index * 2)..]),
            DataType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(data[(index * 2)..]),
            DataType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(data[(index * 4)..]),
            DataType.UInt64 => BinaryPrimitives.ReadUInt64LittleEndian(data[(index * 8)..]),
            DataType.Fp16 => (double)BinaryPrimitives.ReadHalfLittleEndian(data[(index * 2)..]),
            _ => double.NaN,
        };
    }

    /// <summary>"input[3]" is column 3 of tensor "input"; a plain name is its tensor's column 0.</summary>
    internal static (string Tensor, int Column) TensorColumn(string name)
    {
        if (name.EndsWith(']') && name.LastIndexOf('[') is var open and > 0
            && int.TryParse(name.AsSpan(open + 1, name.Length - open - 2), NumberStyles.None, CultureInfo.InvariantCulture, out var column))
        {
            return (name[..open], column);
        }
        return (name, 0);
    }

    /// <summary>The feature name of column <paramref name="column"/> of a tensor <paramref name="width"/> wide.</summary>
    internal static string ColumnName(string tensor, int column, int width) =>
        width == 1 ? tensor : string.Create(CultureInfo.InvariantCulture, $"{tensor}[{column}]");

    private double FormattedCategory(double number)
    {
        Span<char> text = stackalloc char[32];
        number.TryFormat(text, out var written, "R", CultureInfo.InvariantCulture);
        return Category(text[..written]);
    }

    private double StoredCategory(ReadOnlySpan<byte> utf8)
    {
        char[]? rented = null;
        Span<char> buffer = utf8.Length <= StackTextBytes ? stackalloc char[StackTextBytes] : (rented = ArrayPool<char>.Shared.Rent(utf8.Length));
        try
        {
            var length = Encoding.UTF8.GetChars(utf8, buffer);
            return Category(buffer[..length]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }
}
