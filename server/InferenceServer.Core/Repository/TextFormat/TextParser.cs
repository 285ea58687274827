namespace InferenceServer.Core.Repository.TextFormat;

/// <summary>
/// Recursive-descent parser for the protobuf text format into a schema-free tree
/// (<see cref="TextMessage"/>). Protobuf's C# library reads binary and JSON but has no
/// text-format parser, hence this one. Typing is left to the reader that walks the schema's
/// descriptor (<see cref="ConfigTextReader"/>), so one parser serves every message and error
/// messages can name fields as written.
/// </summary>
internal sealed class TextParser
{
    // Deep enough for any real config; stops a hostile file from overflowing the stack.
    private const int MaxDepth = 100;

    private readonly TextTokenizer _tokenizer;
    private readonly string _fileName;
    private TextToken _current;
    private int _depth;

    private TextParser(string text, string fileName)
    {
        _fileName = fileName;
        _tokenizer = new TextTokenizer(text, fileName);
        _current = _tokenizer.Next();
    }

    /// <summary>Parses a whole document as the fields of one top-level message.</summary>
    /// <exception cref="TextFormatException">The text is not valid text format.</exception>
    public static TextMessage Parse(string text, string fileName)
    {
        var parser = new TextParser(text, fileName);
        return parser.ParseFields(closing: null, openLine: 1, openColumn: 1, owner: null);
    }

    private TextMessage ParseFields(char? closing, int openLine, int openColumn, string? owner)
    {
        var fields = new List<TextField>();
        while (true)
        {
            if (closing is { } close && _current.IsSymbol(close))
            {
                Advance();
                break;
            }
            if (_current.Kind == TextTokenKind.End)
            {
                if (closing is { } expected)
                {
                    throw Error(_current, $"expected '{expected}' to close '{owner}' opened at {openLine}:{openColumn}, found end of file");
                }
                break;
            }
            if (_current.IsSymbol('['))
            {
                throw Error(_current, "extension and Any fields ('[...]') are not supported");
            }
            if (_current.Kind != TextTokenKind.Identifier)
            {
                throw Error(_current, closing is { } c
                    ? $"expected a field name or '{c}', found {_current.Describe()}"
                    : $"expected a field name, found {_current.Describe()}");
            }
            ParseField(fields);
            if (_current.IsSymbol(',') || _current.IsSymbol(';'))
            {
                Advance();
            }
        }
        return new TextMessage(fields, openLine, openColumn);
    }

    private void ParseField(List<TextField> fields)
    {
        var name = _current;
        Advance();
        if (_current.IsSymbol(':'))
        {
            Advance();
            if (_current.IsSymbol('['))
            {
                ParseList(name, fields, messagesOnly: false);
            }
            else if (IsMessageOpen(_current))
            {
                fields.Add(ParseMessageValue(name, inList: false));
            }
            else
            {
                fields.Add(ParseScalar(name, inList: false));
            }
            return;
        }
        if (IsMessageOpen(_current))
        {
            fields.Add(ParseMessageValue(name, inList: false));
            return;
        }
        if (_current.IsSymbol('['))
        {
            // Without a colon only a list of messages is valid, as in the protobuf grammar.
            ParseList(name, fields, messagesOnly: true);
            return;
        }
        throw Error(_current, $"expected ':' or '{{' after field '{name.Text}'");
    }

    private void ParseList(TextToken name, List<TextField> fields, bool messagesOnly)
    {
        Advance(); // '['
        if (_current.IsSymbol(']'))
        {
            Advance();
            return;
        }
        TextValueKind? listKind = null;
        while (true)
        {
            TextField element;
            if (IsMessageOpen(_current))
            {
                element = ParseMessageValue(name, inList: true);
            }
            else if (messagesOnly)
            {
                throw Error(_current, $"expected '{{' for an element of message list '{name.Text}' (a list of values needs ':' after the field name)");
            }
            else
            {
                element = ParseScalar(name, inList: true);
            }
            var isMessage = element.Kind == TextValueKind.Message;
            if (listKind is { } kind && (kind == TextValueKind.Message) != isMessage)
            {
                throw Error(element.ValueLine, element.ValueColumn, $"list for field '{name.Text}' mixes messages and values");
            }
            listKind = element.Kind;
            fields.Add(element);

            if (_current.IsSymbol(','))
            {
                Advance();
                continue;
            }
            if (_current.IsSymbol(']'))
            {
                Advance();
                return;
            }
            throw Error(_current, $"expected ',' or ']' in list for field '{name.Text}', found {_current.Describe()}");
        }
    }

    private TextField ParseMessageValue(TextToken name, bool inList)
    {
        var open = _current;
        if (++_depth > MaxDepth)
        {
            throw Error(open, $"messages nested deeper than {MaxDepth} levels");
        }
        Advance();
        var message = ParseFields(open.Text == "<" ? '>' : '}', open.Line, open.Column, name.Text);
        _depth--;
        return new TextField
        {
            Name = name.Text,
            Line = name.Line,
            Column = name.Column,
            Kind = TextValueKind.Message,
            Message = message,
            ValueLine = open.Line,
            ValueColumn = open.Column,
            InList = inList,
        };
    }

    private TextField ParseScalar(TextToken name, bool inList)
    {
        var first = _current;
        TextValueKind kind;
        string text;
        if (first.IsSymbol('-'))
        {
            Advance();
            var number = _current;
            if (number.Kind is TextTokenKind.Integer or TextTokenKind.Float)
            {
                kind = number.Kind == TextTokenKind.Integer ? TextValueKind.Integer : TextValueKind.Float;
            }
            else if (number.Kind == TextTokenKind.Identifier && IsSpecialFloat(number.Text))
            {
                kind = TextValueKind.Float;
            }
            else
            {
                throw Error(number, $"expected a number after '-' for field '{name.Text}', found {number.Describe()}");
            }
            text = "-" + number.Text;
            Advance();
        }
        else if (first.Kind == TextTokenKind.String)
        {
            kind = TextValueKind.String;
            text = first.Text;
            Advance();
            // Adjacent literals join, as in C: "abc" 'def' is "abcdef".
            while (_current.Kind == TextTokenKind.String)
            {
                text += _current.Text;
                Advance();
            }
        }
        else if (first.Kind is TextTokenKind.Identifier or TextTokenKind.Integer or TextTokenKind.Float)
        {
            kind = first.Kind switch
            {
                TextTokenKind.Identifier => TextValueKind.Identifier,
                TextTokenKind.Integer => TextValueKind.Integer,
                _ => TextValueKind.Float,
            };
            text = first.Text;
            Advance();
        }
        else
        {
            throw Error(first, $"expected a value for field '{name.Text}', found {first.Describe()}");
        }
        return new TextField
        {
            Name = name.Text,
            Line = name.Line,
            Column = name.Column,
            Kind = kind,
            Text = text,
            ValueLine = first.Line,
            ValueColumn = first.Column,
            InList = inList,
        };
    }

    private static bool IsMessageOpen(TextToken token) => token.IsSymbol('{') || token.IsSymbol('<');

    private static bool IsSpecialFloat(string text) =>
        text.Equals("inf", StringComparison.OrdinalIgnoreCase)
        || text.Equals("infinity", StringComparison.OrdinalIgnoreCase)
        || text.Equals("nan", StringComparison.OrdinalIgnoreCase);

    private void Advance() => _current = _tokenizer.Next();

    private TextFormatException Error(TextToken at, string reason) => Error(at.Line, at.Column, reason);

    private TextFormatException Error(int line, int column, string reason) => new(_fileName, line, column, reason);
}
