using System.CommandLine;

namespace InferenceServer.Cli;

/// <summary>
/// The option shapes the file commands (score, quantize) share: every value is read as text and checked by a validator,
/// so a bad value is named in the house style (the flag, the value, what was expected) rather than in the parser's.
/// </summary>
internal static class CliOptions
{
    /// <summary>A flag that takes one value; <paramref name="shownDefault"/>, when given, is appended to the help text.</summary>
    public static Option<string> Text(string name, string helpName, string description, string? shownDefault = null) => new(name)
    {
        Description = shownDefault is null ? description : $"{description} [default: {shownDefault}]",
        HelpName = helpName,
        Arity = ArgumentArity.ExactlyOne,
    };

    /// <summary>Refuses a value for which <paramref name="problem"/> returns what was expected instead.</summary>
    public static void Check(Option<string> option, Func<string, string?> problem) =>
        option.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
            {
                if (problem(token.Value) is { } expected)
                {
                    result.AddError($"{option.Name}: '{token.Value}' is not valid; expected {expected}");
                    return;
                }
            }
        });
}
