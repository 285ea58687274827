using InferenceServer.Core.Repository.TextFormat;

namespace InferenceServer.UnitTests.Repository.TextFormat;

public sealed class TextTokenizerTests
{
    private static List<TextToken> Tokens(string text)
    {
        var tokenizer = new TextTokenizer(text, "t.pbtxt");
        var tokens = new List<TextToken>();
        while (true)
        {
            var token = tokenizer.Next();
            if (token.Kind == TextTokenKind.End)
            {
                return tokens;
            }
            tokens.Add(token);
        }
    }

    private static string SingleString(string text)
    {
        var tokens = Tokens(text);
        Assert.Single(tokens);
        Assert.Equal(TextTokenKind.String, tokens[0].Kind);
        return tokens[0].Text;
    }

    private static TextFormatException Fails(string text) =>
        Assert.Throws<TextFormatException>(() => Tokens(text));

    [Fact]
    public void Splits_identifiers_numbers_and_symbols_with_positions()
    {
        var tokens = Tokens("name: \"x\"\n  dims: [ -1, 16 ]");
        Assert.Equal(
            ["name", ":", "x", "dims", ":", "[", "-", "1", ",", "16", "]"],
            tokens.ConvertAll(t => t.Text));
        Assert.Equal((1, 1), (tokens[0].Line, tokens[0].Column));
        Assert.Equal((1, 7), (tokens[2].Line, tokens[2].Column));
        Assert.Equal((2, 3), (tokens[3].Line, tokens[3].Column));
        Assert.Equal((2, 12), (tokens[7].Line, tokens[7].Column));
        Assert.Equal(TextTokenKind.Symbol, tokens[6].Kind);
        Assert.Equal(TextTokenKind.Integer, tokens[7].Kind);
    }

    [Fact]
    public void Skips_comments_to_end_of_line()
    {
        var tokens = Tokens("# header\na: 1 # trailing { not a token\n# last line without newline");
        Assert.Equal(["a", ":", "1"], tokens.ConvertAll(t => t.Text));
        Assert.Equal(2, tokens[0].Line);
    }

    [Fact]
    public void Hash_inside_a_string_is_not_a_comment()
    {
        Assert.Equal("a#b", SingleString("\"a#b\""));
    }

    [Fact]
    public void Crlf_line_endings_count_lines_once()
    {
        var tokens = Tokens("a\r\nb\r\n  c");
        Assert.Equal([1, 2, 3], tokens.ConvertAll(t => t.Line));
        Assert.Equal(3, tokens[2].Column);
    }

    [Fact]
    public void Byte_order_mark_is_skipped()
    {
        var tokens = Tokens("\uFEFFname");
        Assert.Equal("name", tokens[0].Text);
        Assert.Equal(1, tokens[0].Column);
    }

    [Theory]
    [InlineData("0", false)]
    [InlineData("123", false)]
    [InlineData("0x1F", false)]
    [InlineData("0X1f", false)]
    [InlineData("017", false)]
    [InlineData("1.5", true)]
    [InlineData("1.", true)]
    [InlineData(".5", true)]
    [InlineData("1e-3", true)]
    [InlineData("2E+10", true)]
    [InlineData("1.5f", true)]
    [InlineData("3F", true)]
    public void Reads_number_literals(string text, bool isFloat)
    {
        var tokens = Tokens(text);
        Assert.Single(tokens);
        Assert.Equal(isFloat ? TextTokenKind.Float : TextTokenKind.Integer, tokens[0].Kind);
        Assert.Equal(text, tokens[0].Text);
    }

    [Theory]
    [InlineData("09", "invalid digit in octal number")]
    [InlineData("0x", "expected hex digits after '0x'")]
    [InlineData("1e", "expected digits in exponent")]
    [InlineData("12abc", "unexpected character 'a' after number")]
    [InlineData("1.2.3", "unexpected character '.' after number")]
    public void Rejects_malformed_numbers(string text, string reason)
    {
        Assert.Equal(reason, Fails(text).Reason);
    }

    [Fact]
    public void Double_and_single_quotes_both_delimit_strings()
    {
        Assert.Equal("it's", SingleString("\"it's\""));
        Assert.Equal("say \"hi\"", SingleString("'say \"hi\"'"));
    }

    [Theory]
    [InlineData(@"'a\nb'", "a\nb")]
    [InlineData(@"'a\tb'", "a\tb")]
    [InlineData(@"'a\rb'", "a\rb")]
    [InlineData(@"'\\'", "\\")]
    [InlineData(@"'\''", "'")]
    [InlineData(@"'\""'", "\"")]
    [InlineData(@"'\?'", "?")]
    [InlineData(@"'\a\b\f\v'", "\a\b\f\v")]
    [InlineData(@"'\101\102'", "AB")]
    [InlineData(@"'\0'", "\0")]
    [InlineData(@"'\x41\x4a'", "AJ")]
    [InlineData(@"'\x7'", "\u0007")]
    [InlineData(@"'\u00e9'", "é")]
    [InlineData(@"'\U0001F600'", "\U0001F600")]
    [InlineData(@"'\ud83d\ude00'", "\U0001F600")]
    [InlineData(@"'\303\251'", "é")]
    [InlineData(@"'\xc3\xa9'", "é")]
    [InlineData("'héllo'", "héllo")]
    public void Decodes_escapes(string literal, string expected)
    {
        Assert.Equal(expected, SingleString(literal));
    }

    [Fact]
    public void Octal_escape_takes_at_most_three_digits()
    {
        Assert.Equal("A1", SingleString(@"'\1011'"));
    }

    [Fact]
    public void Unterminated_string_reports_the_opening_quote()
    {
        var e = Fails("a: 1\n  name: \"abc\n");
        Assert.Equal((2, 9), (e.Line, e.Column));
        Assert.Equal("unterminated string", e.Reason);
        Assert.Equal("t.pbtxt:2:9: unterminated string", e.Message);
    }

    [Fact]
    public void String_at_end_of_file_is_unterminated()
    {
        Assert.Equal("unterminated string", Fails("'abc").Reason);
        Assert.Equal("unterminated string", Fails("'abc\\").Reason);
    }

    [Theory]
    [InlineData(@"'\q'", "invalid escape '\\q'")]
    [InlineData(@"'\x'", "expected hex digits after '\\x'")]
    [InlineData(@"'\u12'", "expected 4 hex digits in escape")]
    [InlineData(@"'\400'", "octal escape is larger than one byte")]
    [InlineData(@"'\ud800'", "escape is not a valid Unicode code point")]
    [InlineData(@"'\xff'", "string escapes do not form valid UTF-8")]
    public void Rejects_bad_escapes(string literal, string reason)
    {
        Assert.Equal(reason, Fails(literal).Reason);
    }

    [Fact]
    public void Bad_escape_reports_the_backslash_position()
    {
        var e = Fails("x: 'ab\\q'");
        Assert.Equal((1, 7), (e.Line, e.Column));
    }

    [Fact]
    public void Rejects_unexpected_characters()
    {
        var e = Fails("a: 1\nb = 2");
        Assert.Equal("unexpected character '='", e.Reason);
        Assert.Equal((2, 3), (e.Line, e.Column));
    }
}
