using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Features;

/// <summary>
/// The transform itself: one feature's value in one row found (request, else store unless expired, else default),
/// encoded, and written into its output. Everything here works on spans: text decoded from the store lands on the stack
/// and is looked up through the vocabulary's span lookup, numbers are parsed in place.
/// </summary>
internal static class FeatureEngine
{
    // Text up to this many bytes is decoded on the stack; longer text (rare: vocabularies hold short values) is rented.
    private const int StackTextBytes = 256;

    // The most characters of a value an error quotes.
    private const int QuotedLength = 64;

    // What is known of a distinct text value's encoding while a column is filled: nothing yet, its encoded value, or
    // that it does not encode on its own (blank text for a number: the row's store value or default decides).
    private const byte NotYet = 0;
    private const byte Known = 1;
    private const byte PerRow = 2;

    /// <summary>
    /// Fills <paramref name="data"/> ([rows, width], zeroed) with <paramref name="plan"/>'s columns. A field whose rows
    /// are coded into distinct text values (<see cref="CellColumns.TextValues"/>) is encoded once per distinct value,
    /// by the same <see cref="EncodeRequestText"/> a row's own text goes through, at the first row that has it (so a
    /// value that is refused is refused at the same row as it would be row by row), then copied to every row with it.
    /// </summary>
    public static void Fill(OutputPlan plan, FeatureRows rows, long nowMilliseconds, Span<byte> data)
    {
        var output = plan.Output;
        var width = output.Width;
        var type = output.DataType;
        for (var c = 0; c < plan.Columns.Length; c++)
        {
            var column = plan.Columns[c];
            var offset = plan.Offsets[c];
            var values = column.FromRequest ? rows.Request.TextValues(column.Field.Index) : null;
            var states = values is null ? null : ArrayPool<byte>.Shared.Rent(values.Length);
            var encodings = values is null ? null : ArrayPool<double>.Shared.Rent(values.Length);
            try
            {
                states?.AsSpan(0, values!.Length).Clear();
                for (var row = 0; row < rows.Count; row++)
                {
                    var encoded = states is not null && rows.Request.TryGetTextCode(column.Field.Index, row, out var code)
                        ? EncodeCoded(column, rows, row, nowMilliseconds, values![code].Span, ref states[code], ref encodings![code])
                        : Encode(column, rows, row, nowMilliseconds);
                    var at = row * width + offset;
                    if (column.Encoding == FeatureEncoding.OneHot)
                    {
                        if (encoded >= 0)
                        {
                            Write(data, type, at + (int)encoded, 1, column, row);
                        }
                    }
                    else
                    {
                        Write(data, type, at, encoded, column, row);
                    }
                }
            }
            finally
            {
                if (states is not null)
                {
                    ArrayPool<byte>.Shared.Return(states);
                    ArrayPool<double>.Shared.Return(encodings!);
                }
            }
        }
    }

    // A coded row's value: its distinct value's encoding, worked out the first time the value is met.
    private static double EncodeCoded(FeatureColumn column, FeatureRows rows, int row, long nowMilliseconds, ReadOnlySpan<char> text,
        ref byte state, ref double encoding)
    {
        if (state == Known)
        {
            return encoding;
        }
        if (state == NotYet)
        {
            if (EncodeRequestText(column, row, text, out encoding))
            {
                state = Known;
                return encoding;
            }
            state = PerRow;
        }
        return Encode(column, rows, row, nowMilliseconds);
    }

    /// <summary>
    /// The row's value of <paramref name="column"/>, encoded: the number for Number and Ordinal features, the column
    /// (-1 for none) for OneHot ones.
    /// </summary>
    public static double Encode(FeatureColumn column, FeatureRows rows, int row, long nowMilliseconds)
    {
        var field = column.Field;
        if (column.FromRequest)
        {
            if (rows.Request.TryGetNumber(field.Index, row, out var number))
            {
                // NaN is how a client without a value sends a number: missing, like an absent field.
                if (!double.IsNaN(number))
                {
                    return field.Kind == FeatureKind.Number ? EncodeNumber(column, row, number) : EncodeFormatted(column, row, number);
                }
            }
            else if (rows.Request.TryGetText(field.Index, row, out var text) && EncodeRequestText(column, row, text, out var encoded))
            {
                return encoded;
            }
        }
        string? why = null;
        if (column.StoreIndex >= 0 && rows.TryGetStoreValue(column.StoreIndex, row, out var stored))
        {
            var writtenAt = rows.StoredAt(row);
            if (column.TtlMilliseconds > 0 && writtenAt > 0 && nowMilliseconds - writtenAt > column.TtlMilliseconds)
            {
                why = string.Create(CultureInfo.InvariantCulture,
                    $"missing: its stored value expired (written {(nowMilliseconds - writtenAt) / 1000.0:0.###} s ago, the TTL is {column.TtlMilliseconds / 1000.0:0.###} s) and feature '{column.Name}' has no default");
            }
            else if (field.Kind == FeatureKind.Text)
            {
                return EncodeStoredText(column, row, stored);
            }
            else if (TryParseStoredNumber(column, row, stored, out var parsed))
            {
                return EncodeNumber(column, row, parsed);
            }
        }
        if (column.HasDefault)
        {
            return column.DefaultEncoded;
        }
        throw new FeatureException(row, field.Name, why ?? Missing(column));
    }

    /// <summary>
    /// Encodes a request's text for <paramref name="column"/>: looked up for a text feature, parsed for a number one.
    /// False when the text counts as missing (blank or NaN for a number), so the store or the default decides; it
    /// depends on the text alone, which is what lets a distinct value be encoded once for all its rows.
    /// </summary>
    public static bool EncodeRequestText(FeatureColumn column, int row, ReadOnlySpan<char> text, out double encoded)
    {
        if (column.Field.Kind == FeatureKind.Text)
        {
            encoded = EncodeText(column, row, text);
            return true;
        }
        if (TryParseNumber(column, row, text, out var parsed))
        {
            encoded = EncodeNumber(column, row, parsed);
            return true;
        }
        encoded = 0;
        return false;
    }

    /// <summary>Encodes a number through the column's transforms; a value no transform takes refuses the row.</summary>
    public static double EncodeNumber(FeatureColumn column, int row, double value)
    {
        if (!double.IsFinite(value))
        {
            throw new FeatureException(row, column.Field.Name, $"{Show(value)} is not a finite number");
        }
        foreach (var op in column.Ops)
        {
            var result = op.Apply(value);
            if (double.IsNaN(result))
            {
                throw new FeatureException(row, column.Field.Name, $"feature '{column.Name}': log1p takes values above -1, got {Show(value)}");
            }
            value = result;
        }
        return value;
    }

    /// <summary>Encodes a text: its vocabulary index (then numeric transforms, for ordinal), or its one-hot column.</summary>
    public static double EncodeText(FeatureColumn column, int row, ReadOnlySpan<char> text)
    {
        if (!column.Lookup.TryGetValue(text, out var index))
        {
            if (column.OovBucket)
            {
                index = column.VocabularySize;
            }
            else if (column.Encoding == FeatureEncoding.OneHot)
            {
                return -1;
            }
            else
            {
                throw new FeatureException(row, column.Field.Name,
                    $"'{Quote(text)}' is not in the vocabulary of feature '{column.Name}', which has no out-of-vocabulary bucket");
            }
        }
        return column.Encoding == FeatureEncoding.OneHot ? index : EncodeNumber(column, row, index);
    }

    // A number given for a text field: looked up as written invariantly ("3", "2.5").
    private static double EncodeFormatted(FeatureColumn column, int row, double value)
    {
        Span<char> text = stackalloc char[32];
        value.TryFormat(text, out var written, "R", CultureInfo.InvariantCulture);
        return EncodeText(column, row, text[..written]);
    }

    private static double EncodeStoredText(FeatureColumn column, int row, ReadOnlySpan<byte> utf8)
    {
        char[]? rented = null;
        Span<char> buffer = utf8.Length <= StackTextBytes ? stackalloc char[StackTextBytes] : (rented = ArrayPool<char>.Shared.Rent(utf8.Length));
        try
        {
            var length = Encoding.UTF8.GetChars(utf8, buffer);
            return EncodeText(column, row, buffer[..length]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    // Text for a number: invariant, so "1.5" reads the same on every server; NaN and blank text are missing.
    private static bool TryParseNumber(FeatureColumn column, int row, ReadOnlySpan<char> text, out double value)
    {
        if (text.IsWhiteSpace())
        {
            value = double.NaN;
            return false;
        }
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value))
        {
            throw new FeatureException(row, column.Field.Name, $"'{Quote(text)}' is not a number");
        }
        return !double.IsNaN(value);
    }

    private static bool TryParseStoredNumber(FeatureColumn column, int row, ReadOnlySpan<byte> utf8, out double value)
    {
        if (utf8.Trim(" \t"u8).Length == 0)
        {
            value = double.NaN;
            return false;
        }
        if (!double.TryParse(utf8, NumberStyles.Float, CultureInfo.InvariantCulture, out value))
        {
            throw new FeatureException(row, column.Field.Name,
                $"the stored value '{Quote(Encoding.UTF8.GetString(utf8.Length > QuotedLength ? utf8[..QuotedLength] : utf8))}' is not a number");
        }
        return !double.IsNaN(value);
    }

    private static void Write(Span<byte> data, DataType type, int index, double value, FeatureColumn column, int row)
    {
        switch (type)
        {
            case DataType.Fp32:
                BinaryPrimitives.WriteSingleLittleEndian(data[(index * sizeof(float))..], (float)value);
                break;
            case DataType.Fp64:
                BinaryPrimitives.WriteDoubleLittleEndian(data[(index * sizeof(double))..], value);
                break;
            case DataType.Int32:
            {
                var rounded = Math.Round(value);
                if (rounded is < int.MinValue or > int.MaxValue)
                {
                    throw OutOfRange(column, row, value, "INT32");
                }
                BinaryPrimitives.WriteInt32LittleEndian(data[(index * sizeof(int))..], (int)rounded);
                break;
            }
            default:
            {
                var rounded = Math.Round(value);
                if (rounded is < long.MinValue or >= 9.2233720368547758E+18)
                {
                    throw OutOfRange(column, row, value, "INT64");
                }
                BinaryPrimitives.WriteInt64LittleEndian(data[(index * sizeof(long))..], (long)rounded);
                break;
            }
        }
    }

    private static FeatureException OutOfRange(FeatureColumn column, int row, double value, string type) =>
        new(row, column.Field.Name, $"feature '{column.Name}' encodes to {Show(value)}, outside {type}'s range");

    private static string Missing(FeatureColumn column)
    {
        var where = column.FromRequest && column.StoreIndex >= 0 ? "neither in the request nor in the store"
            : column.FromRequest ? "not in the request" : "not in the store";
        return $"missing: {where}, and feature '{column.Name}' has no default";
    }

    private static string Show(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Quote(ReadOnlySpan<char> text) =>
        text.Length > QuotedLength ? string.Concat(text[..QuotedLength], "...") : text.ToString();
}
