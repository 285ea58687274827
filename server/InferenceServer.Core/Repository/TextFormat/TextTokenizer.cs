using System.Text;

namespace InferenceServer.Core.Repository.TextFormat;

/// <summary>Splits protobuf text-format input into tokens, skipping whitespace and <c>#</c> comments.</summary>
internal sealed class TextTokenizer
{
    // Strings are decoded to bytes first because octal and \x escapes name bytes, not
    // characters: "\303\251" is the UTF-8 encoding of 'é' and must come out as one char.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly string _text;
    private readonly string _fileName;
    private int _pos;
    private int _line = 1;
    private int _lineStart;

    public TextTokenizer(string text, string fileName)
    {
        _text = text;
        _fileName = fileName;
        // A byte-order mark is not content; skipping it keeps columns on line 1 honest.
        if (_text.Length > 0 && _text[0] == '\uFEFF')
        {
            _pos = 1;
            _lineStart = 1;
        }
    }

    public TextToken Next()
    {
        SkipWhitespaceAndComments();
        var line = _line;
        var column = _pos - _lineStart + 1;
        if (_pos >= _text.Length)
        {
            return new TextToken(TextTokenKind.End, "", line, column);
        }

        var c = _text[_pos];
        if (IsIdentifierStart(c))
        {
            var start = _pos;
            while (_pos < _text.Length && IsIdentifierPart(_text[_pos]))
            {
                _pos++;
            }
            return new TextToken(TextTokenKind.Identifier, _text[start.._pos], line, column);
        }
        if (char.IsAsciiDigit(c) || (c == '.' && _pos + 1 < _text.Length && char.IsAsciiDigit(_text[_pos + 1])))
        {
            return ReadNumber(line, column);
        }
        if (c is '"' or '\'')
        {
            return ReadString(line, column);
        }
        if (c is '{' or '}' or '<' or '>' or '[' or ']' or ':' or ',' or ';' or '-')
        {
            _pos++;
            return new TextToken(TextTokenKind.Symbol, c.ToString(), line, column);
        }
        throw Error(line, column, $"unexpected character '{c}'");
    }

    private void SkipWhitespaceAndComments()
    {
        while (_pos < _text.Length)
        {
            var c = _text[_pos];
            if (c == '\n')
            {
                _pos++;
                _line++;
                _lineStart = _pos;
            }
            else if (c is ' ' or '\t' or '\r' or '\f' or '\v')
            {
                _pos++;
            }
            else if (c == '#')
            {
                while (_pos < _text.Length && _text[_pos] != '\n')
                {
                    _pos++;
                }
            }
            else
            {
                return;
            }
        }
    }

    private TextToken ReadNumber(int line, int column)
    {
        var start = _pos;
        var isFloat = false;
        if (_text[_pos] == '0' && _pos + 1 < _text.Length && _text[_pos + 1] is 'x' or 'X')
        {
            _pos += 2;
            if (_pos >= _text.Length || !char.IsAsciiHexDigit(_text[_pos]))
            {
                throw Error(line, column, "expected hex digits after '0x'");
            }
            while (_pos < _text.Length && char.IsAsciiHexDigit(_text[_pos]))
            {
                _pos++;
            }
        }
        else if (_text[_pos] == '0' && _pos + 1 < _text.Length && char.IsAsciiDigit(_text[_pos + 1]))
        {
            // A leading zero means octal, as in C; "09" is a mistake, not nine.
            _pos++;
            while (_pos < _text.Length && char.IsAsciiDigit(_text[_pos]))
            {
                if (_text[_pos] > '7')
                {
                    throw Error(line, column, "invalid digit in octal number");
                }
                _pos++;
            }
        }
        else
        {
            SkipDigits();
            if (_pos < _text.Length && _text[_pos] == '.')
            {
                isFloat = true;
                _pos++;
                SkipDigits();
            }
            if (_pos < _text.Length && _text[_pos] is 'e' or 'E')
            {
                isFloat = true;
                _pos++;
                if (_pos < _text.Length && _text[_pos] is '+' or '-')
                {
                    _pos++;
                }
                if (_pos >= _text.Length || !char.IsAsciiDigit(_text[_pos]))
                {
                    throw Error(line, column, "expected digits in exponent");
                }
                SkipDigits();
            }
            if (_pos < _text.Length && _text[_pos] is 'f' or 'F')
            {
                isFloat = true;
                _pos++;
            }
        }
        if (_pos < _text.Length && (IsIdentifierPart(_text[_pos]) || _text[_pos] == '.'))
        {
            throw Error(_line, _pos - _lineStart + 1, $"unexpected character '{_text[_pos]}' after number");
        }
        return new TextToken(isFloat ? TextTokenKind.Float : TextTokenKind.Integer, _text[start.._pos], line, column);
    }

    private void SkipDigits()
    {
        while (_pos < _text.Length && char.IsAsciiDigit(_text[_pos]))
        {
            _pos++;
        }
    }

    private TextToken ReadString(int line, int column)
    {
        var quote = _text[_pos++];
        var bytes = new List<byte>();
        Span<byte> utf8 = stackalloc byte[4];
        while (true)
        {
            if (_pos >= _text.Length || _text[_pos] == '\n')
            {
                throw Error(line, column, "unterminated string");
            }
            var c = _text[_pos];
            if (c == quote)
            {
                _pos++;
                break;
            }
            if (c == '\\')
            {
                ReadEscape(bytes, utf8);
                continue;
            }
            if (Rune.DecodeFromUtf16(_text.AsSpan(_pos), out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                throw Error(_line, _pos - _lineStart + 1, "invalid UTF-16 in string");
            }
            _pos += consumed;
            AppendRune(bytes, rune, utf8);
        }

        string value;
        try
        {
            value = StrictUtf8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
        }
        catch (DecoderFallbackException)
        {
            throw Error(line, column, "string escapes do not form valid UTF-8");
        }
        return new TextToken(TextTokenKind.String, value, line, column);
    }

    private void ReadEscape(List<byte> bytes, Span<byte> utf8)
    {
        var line = _line;
        var column = _pos - _lineStart + 1;
        _pos++;
        if (_pos >= _text.Length || _text[_pos] == '\n')
        {
            throw Error(line, column, "unterminated string");
        }
        var e = _text[_pos++];
        switch (e)
        {
            case 'n': bytes.Add((byte)'\n'); return;
            case 't': bytes.Add((byte)'\t'); return;
            case 'r': bytes.Add((byte)'\r'); return;
            case 'a': bytes.Add(0x07); return;
            case 'b': bytes.Add(0x08); return;
            case 'f': bytes.Add(0x0C); return;
            case 'v': bytes.Add(0x0B); return;
            case '\\': bytes.Add((byte)'\\'); return;
            case '\'': bytes.Add((byte)'\''); return;
            case '"': bytes.Add((byte)'"'); return;
            case '?': bytes.Add((byte)'?'); return;
        }
        if (e is >= '0' and <= '7')
        {
            var value = e - '0';
            for (var i = 0; i < 2 && _pos < _text.Length && _text[_pos] is >= '0' and <= '7'; i++)
            {
                value = (value * 8) + (_text[_pos++] - '0');
            }
            if (value > 0xFF)
            {
                throw Error(line, column, "octal escape is larger than one byte");
            }
            bytes.Add((byte)value);
            return;
        }
        if (e == 'x')
        {
            var value = 0;
            var digits = 0;
            while (digits < 2 && _pos < _text.Length && char.IsAsciiHexDigit(_text[_pos]))
            {
                value = (value * 16) + HexValue(_text[_pos++]);
                digits++;
            }
            if (digits == 0)
            {
                throw Error(line, column, "expected hex digits after '\\x'");
            }
            bytes.Add((byte)value);
            return;
        }
        if (e is 'u' or 'U')
        {
            var codePoint = ReadFixedHex(e == 'u' ? 4 : 8, line, column);
            if (e == 'u' && char.IsHighSurrogate((char)codePoint)
                && _pos + 5 < _text.Length && _text[_pos] == '\\' && _text[_pos + 1] == 'u')
            {
                _pos += 2;
                var low = ReadFixedHex(4, line, column);
                if (!char.IsLowSurrogate((char)low))
                {
                    throw Error(line, column, "unpaired surrogate in \\u escape");
                }
                codePoint = char.ConvertToUtf32((char)codePoint, (char)low);
            }
            if (!Rune.IsValid(codePoint))
            {
                throw Error(line, column, "escape is not a valid Unicode code point");
            }
            AppendRune(bytes, new Rune(codePoint), utf8);
            return;
        }
        throw Error(line, column, $"invalid escape '\\{e}'");
    }

    private int ReadFixedHex(int count, int line, int column)
    {
        var value = 0;
        for (var i = 0; i < count; i++)
        {
            if (_pos >= _text.Length || !char.IsAsciiHexDigit(_text[_pos]))
            {
                throw Error(line, column, $"expected {count} hex digits in escape");
            }
            value = (value * 16) + HexValue(_text[_pos++]);
        }
        return value;
    }

    private static void AppendRune(List<byte> bytes, Rune rune, Span<byte> utf8)
    {
        var written = rune.EncodeToUtf8(utf8);
        for (var i = 0; i < written; i++)
        {
            bytes.Add(utf8[i]);
        }
    }

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    private static bool IsIdentifierStart(char c) => char.IsAsciiLetter(c) || c == '_';

    private static bool IsIdentifierPart(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    private TextFormatException Error(int line, int column, string reason) => new(_fileName, line, column, reason);
}
