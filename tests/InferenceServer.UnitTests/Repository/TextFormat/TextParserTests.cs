using InferenceServer.Core.Repository.TextFormat;

namespace InferenceServer.UnitTests.Repository.TextFormat;

public sealed class TextParserTests
{
    private static TextMessage Parse(string text) => TextParser.Parse(text, "config.pbtxt");

    private static TextFormatException Fails(string text) =>
        Assert.Throws<TextFormatException>(() => Parse(text));

    private static List<string> Texts(TextMessage message, string name) =>
        message.Fields.Where(f => f.Name == name).Select(f => f.Text).ToList();

    [Fact]
    public void Empty_and_comment_only_documents_have_no_fields()
    {
        Assert.Empty(Parse("").Fields);
        Assert.Empty(Parse("  # nothing here\n\n").Fields);
    }

    [Fact]
    public void Reads_scalar_fields_in_order_with_kinds_and_positions()
    {
        var message = Parse("name: \"simple\"\nmax_batch_size: 8\nkind: KIND_CPU\nscale: 0.5");
        Assert.Equal(["name", "max_batch_size", "kind", "scale"], message.Fields.Select(f => f.Name));
        Assert.Equal(
            [TextValueKind.String, TextValueKind.Integer, TextValueKind.Identifier, TextValueKind.Float],
            message.Fields.Select(f => f.Kind));
        Assert.Equal("simple", message.Fields[0].Text);
        Assert.Equal((2, 1, 2, 17), (message.Fields[1].Line, message.Fields[1].Column, message.Fields[1].ValueLine, message.Fields[1].ValueColumn));
        Assert.False(message.Fields[0].InList);
    }

    [Theory]
    [InlineData("m { a: 1 }")]
    [InlineData("m: { a: 1 }")]
    [InlineData("m < a: 1 >")]
    [InlineData("m: < a: 1 >")]
    public void Accepts_every_message_syntax(string text)
    {
        var field = Assert.Single(Parse(text).Fields);
        Assert.Equal(TextValueKind.Message, field.Kind);
        var inner = Assert.Single(field.Message!.Fields);
        Assert.Equal(("a", "1"), (inner.Name, inner.Text));
    }

    [Fact]
    public void Nested_messages_record_the_opening_delimiter()
    {
        var field = Parse("outer {\n  inner { x: 1 }\n}").Fields[0];
        var inner = field.Message!.Fields[0];
        Assert.Equal((2, 9), (inner.Message!.Line, inner.Message.Column));
        Assert.Equal("1", inner.Message.Fields[0].Text);
    }

    [Fact]
    public void Scalar_list_becomes_one_field_per_element()
    {
        var message = Parse("dims: [ 1, -2, 0x3 ]");
        Assert.Equal(["1", "-2", "0x3"], Texts(message, "dims"));
        Assert.All(message.Fields, f => Assert.True(f.InList));
        Assert.Equal([9, 12, 16], message.Fields.Select(f => f.ValueColumn));
    }

    [Fact]
    public void Empty_list_adds_no_fields()
    {
        Assert.Empty(Parse("dims: []").Fields);
        Assert.Empty(Parse("input []").Fields);
    }

    [Theory]
    [InlineData("input [ { name: 'a' }, { name: 'b' } ]")]
    [InlineData("input: [ { name: 'a' }, { name: 'b' } ]")]
    [InlineData("input [ < name: 'a' >, < name: 'b' > ]")]
    [InlineData("input { name: 'a' } input { name: 'b' }")]
    [InlineData("input { name: 'a' }, input { name: 'b' };")]
    public void Message_lists_and_repeated_fields_read_the_same(string text)
    {
        var fields = Parse(text).Fields;
        Assert.Equal(2, fields.Count);
        Assert.Equal(["a", "b"], fields.Select(f => f.Message!.Fields[0].Text));
    }

    [Fact]
    public void Repeated_scalar_given_several_times_keeps_every_value()
    {
        Assert.Equal(["1", "2", "3"], Texts(Parse("v: 1 v: 2\nv: 3"), "v"));
    }

    [Fact]
    public void Commas_and_semicolons_between_fields_are_optional()
    {
        var message = Parse("a: 1, b: 2; c: 3 d { e: 4; f: 5, }");
        Assert.Equal(["a", "b", "c", "d"], message.Fields.Select(f => f.Name));
        Assert.Equal(["e", "f"], message.Fields[3].Message!.Fields.Select(f => f.Name));
    }

    [Fact]
    public void Adjacent_strings_concatenate_across_quotes_and_lines()
    {
        var field = Parse("s: \"ab\" 'cd'\n   \"ef\"").Fields[0];
        Assert.Equal("abcdef", field.Text);
        Assert.Equal(TextValueKind.String, field.Kind);
    }

    [Theory]
    [InlineData("x: -5", "Integer", "-5")]
    [InlineData("x: - 5", "Integer", "-5")]
    [InlineData("x: -0x10", "Integer", "-0x10")]
    [InlineData("x: -1.5e-3", "Float", "-1.5e-3")]
    [InlineData("x: 1e-3", "Float", "1e-3")]
    [InlineData("x: inf", "Identifier", "inf")]
    [InlineData("x: -inf", "Float", "-inf")]
    [InlineData("x: -Infinity", "Float", "-Infinity")]
    [InlineData("x: true", "Identifier", "true")]
    [InlineData("x: True", "Identifier", "True")]
    [InlineData("x: t", "Identifier", "t")]
    [InlineData("x: 1", "Integer", "1")]
    public void Reads_signed_and_special_scalars(string text, string kind, string value)
    {
        var field = Parse(text).Fields[0];
        Assert.Equal((Enum.Parse<TextValueKind>(kind), value), (field.Kind, field.Text));
    }

    [Fact]
    public void Missing_colon_before_a_scalar_names_the_field()
    {
        var e = Fails("name: 'x'\ninput {\n  name: 'a'\n  dims 16\n}");
        Assert.Equal("config.pbtxt:4:8: expected ':' or '{' after field 'dims'", e.Message);
    }

    [Fact]
    public void Missing_closing_brace_reports_end_of_file_and_the_opening()
    {
        var e = Fails("input {\n  name: 'a'\n  dims: [1]\n");
        Assert.Equal((4, 1), (e.Line, e.Column));
        Assert.Equal("expected '}' to close 'input' opened at 1:7, found end of file", e.Reason);
    }

    [Fact]
    public void Angle_bracket_message_must_close_with_angle_bracket()
    {
        var e = Fails("m < a: 1 }");
        Assert.Equal("expected a field name or '>', found '}'", e.Reason);
        Assert.Equal((1, 10), (e.Line, e.Column));
    }

    [Fact]
    public void Stray_closing_brace_at_top_level_is_an_error()
    {
        var e = Fails("a: 1\n}");
        Assert.Equal((2, 1), (e.Line, e.Column));
        Assert.Equal("expected a field name, found '}'", e.Reason);
    }

    [Fact]
    public void Unclosed_list_reports_what_was_expected()
    {
        var e = Fails("dims: [1, 2\nname: 'x'");
        Assert.Equal((2, 1), (e.Line, e.Column));
        Assert.Equal("expected ',' or ']' in list for field 'dims', found 'name'", e.Reason);
    }

    [Fact]
    public void List_of_values_without_colon_is_rejected()
    {
        var e = Fails("dims [1, 2]");
        Assert.Contains("a list of values needs ':'", e.Reason);
    }

    [Fact]
    public void List_mixing_messages_and_values_is_rejected()
    {
        Assert.Contains("mixes messages and values", Fails("x: [ { a: 1 }, 2 ]").Reason);
    }

    [Fact]
    public void Missing_value_is_reported_at_the_offending_token()
    {
        var e = Fails("a: }");
        Assert.Equal((1, 4), (e.Line, e.Column));
        Assert.Equal("expected a value for field 'a', found '}'", e.Reason);
    }

    [Fact]
    public void Minus_must_precede_a_number()
    {
        Assert.Equal("expected a number after '-' for field 'a', found 'abc'", Fails("a: -abc").Reason);
    }

    [Fact]
    public void Field_name_must_be_an_identifier()
    {
        Assert.Equal("expected a field name, found a string", Fails("'name': 1").Reason);
        Assert.Equal("expected a field name, found '12'", Fails("12: 1").Reason);
    }

    [Fact]
    public void Extensions_are_rejected_clearly()
    {
        Assert.Contains("not supported", Fails("[ext.field]: 1").Reason);
    }

    [Fact]
    public void Very_deep_nesting_is_rejected_instead_of_overflowing_the_stack()
    {
        var text = string.Concat(Enumerable.Repeat("m { ", 1000)) + string.Concat(Enumerable.Repeat("} ", 1000));
        Assert.Contains("nested deeper", Fails(text).Reason);
    }
}
