using System.Globalization;

namespace InferenceServer.Core.Repository.TextFormat;

/// <summary>Converts scalar field text to numbers and booleans with the text format's rules.</summary>
internal static class TextScalars
{
    /// <summary>Parses an integer literal (decimal, <c>0x</c> hex, leading-zero octal, optional '-').</summary>
    /// <returns>False when the text is not an integer or does not fit in a <see cref="long"/>.</returns>
    public static bool TryParseInt64(string text, out long value)
    {
        value = 0;
        var negative = text.StartsWith('-');
        var digits = negative ? text.AsSpan(1) : text.AsSpan();
        ulong magnitude;
        if (digits.Length > 2 && digits[0] == '0' && digits[1] is 'x' or 'X')
        {
            if (!ulong.TryParse(digits[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out magnitude))
            {
                return false;
            }
        }
        else if (digits.Length > 1 && digits[0] == '0')
        {
            magnitude = 0;
            foreach (var c in digits[1..])
            {
                if (c is < '0' or > '7' || magnitude > (ulong.MaxValue >> 3))
                {
                    return false;
                }
                magnitude = (magnitude << 3) | (uint)(c - '0');
            }
        }
        else if (!ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out magnitude))
        {
            return false;
        }

        if (negative)
        {
            if (magnitude > (ulong)long.MaxValue + 1)
            {
                return false;
            }
            value = unchecked(-(long)magnitude);
            return true;
        }
        if (magnitude > long.MaxValue)
        {
            return false;
        }
        value = (long)magnitude;
        return true;
    }

    /// <summary>Parses a float literal, an integer literal, or <c>inf</c>/<c>infinity</c>/<c>nan</c> (any case, optional '-').</summary>
    public static bool TryParseDouble(string text, out double value)
    {
        var negative = text.StartsWith('-');
        var body = negative ? text[1..] : text;
        if (body.Equals("inf", StringComparison.OrdinalIgnoreCase) || body.Equals("infinity", StringComparison.OrdinalIgnoreCase))
        {
            value = negative ? double.NegativeInfinity : double.PositiveInfinity;
            return true;
        }
        if (body.Equals("nan", StringComparison.OrdinalIgnoreCase))
        {
            value = double.NaN;
            return true;
        }
        if (body.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            || (body.Length > 1 && body[0] == '0' && char.IsAsciiDigit(body[1])))
        {
            var ok = TryParseInt64(text, out var integer);
            value = integer;
            return ok;
        }
        if (body.EndsWith('f') || body.EndsWith('F'))
        {
            body = body[..^1];
        }
        if (!double.TryParse(body, NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out value))
        {
            return false;
        }
        if (negative)
        {
            value = -value;
        }
        return true;
    }

    /// <summary>Parses a boolean: <c>true</c>, <c>True</c>, <c>t</c>, <c>1</c> and their false forms.</summary>
    public static bool TryParseBool(TextValueKind kind, string text, out bool value)
    {
        value = false;
        switch (kind)
        {
            case TextValueKind.Identifier when text is "true" or "True" or "t":
                value = true;
                return true;
            case TextValueKind.Identifier when text is "false" or "False" or "f":
                return true;
            case TextValueKind.Integer when text is "1" or "0":
                value = text == "1";
                return true;
            default:
                return false;
        }
    }
}
