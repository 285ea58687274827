using InferenceServer.Core.Repository;
using InferenceServer.Core.Routing;

namespace InferenceServer.UnitTests.Routing;

/// <summary>routing.pbtxt's refusals read as config.pbtxt's errors do: <c>file:line:column: field: reason</c>, the file named once.</summary>
public sealed class RoutingConfigReaderTests
{
    private static ModelConfigException Refusal(string text) =>
        Assert.Throws<ModelConfigException>(() => RoutingConfigReader.Parse(text, "r", besideModel: false));

    [Fact]
    public void An_unknown_field_is_refused_naming_the_file_and_its_line_and_column_once_and_the_field()
    {
        var error = Refusal("""
            variant { name: "a" model: "m" wieght: 1 }
            """);

        Assert.Equal("r/routing.pbtxt:1:32: variant[0].wieght: unknown field (did you mean 'weight'?); a route refuses fields it does not know", error.Message);
        Assert.Equal(("r/routing.pbtxt", 1, 32, "variant[0].wieght"), (error.FileName, error.Line, error.Column, error.FieldPath));
    }

    [Fact]
    public void Further_unknown_fields_follow_the_first_by_line_and_column_without_the_file_again()
    {
        var error = Refusal("""
            variant { name: "a" model: "m" weight: 1 }
            stiky { header: "x-user" }
            whatever: 3
            """);

        Assert.Equal("r/routing.pbtxt:2:1: stiky: unknown field (did you mean 'sticky'?); also unknown: 'whatever' at 3:1; "
            + "a route refuses fields it does not know", error.Message);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(error.Message, "routing\\.pbtxt"));
    }
}
