using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;

namespace InferenceServer.Benchmarks;

/// <summary>
/// The options the benchmark program's modes (<c>raw-throughput</c>, <c>raw-scoring</c>, <c>generate-income</c>) share,
/// as System.CommandLine options that check their own values, so each mode declares what it takes and nothing more.
/// </summary>
internal static class ModeOptions
{
    /// <summary>A required path option.</summary>
    public static Option<string> Path(string name, string helpName, string description) =>
        new(name) { Description = description, HelpName = helpName, Required = true };

    /// <summary>
    /// A whole number of at least <paramref name="minimum"/>: <paramref name="defaultValue"/> when not given, or
    /// required when that is null.
    /// </summary>
    public static Option<T> Count<T>(string name, T? defaultValue, T minimum, string description)
        where T : struct, IBinaryInteger<T>
    {
        var option = new Option<T>(name)
        {
            Description = description,
            HelpName = "N",
            CustomParser = result => ParseCount(name, result, minimum) ?? default,
        };
        if (defaultValue is { } value)
        {
            option.DefaultValueFactory = _ => value;
        }
        else
        {
            option.Required = true;
        }
        return option;
    }

    /// <summary>A whole number of at least <paramref name="minimum"/>, absent (null) when not given.</summary>
    public static Option<int?> OptionalCount(string name, int minimum, string description) =>
        new(name) { Description = description, HelpName = "N", CustomParser = result => ParseCount(name, result, minimum) };

    /// <summary>The measured time, in seconds above 0.</summary>
    public static Option<double> Seconds(double defaultValue, string description) =>
        new("--seconds")
        {
            Description = description,
            HelpName = "S",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result =>
            {
                var text = result.Tokens[0].Value;
                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0)
                {
                    return seconds;
                }
                result.AddError($"--seconds takes a number of seconds above 0, not '{text}'");
                return 0;
            },
        };

    /// <summary>The generated records' seed: the same seed, the same records.</summary>
    public static Option<int> Seed() =>
        new("--seed") { Description = "Seed of the generated records.", HelpName = "N", DefaultValueFactory = _ => 1 };

    /// <summary>Sizes separated by commas (<c>1,8,32</c>), each at least 1.</summary>
    public static Option<int[]> Sizes(string name, int[] defaultValue, string description) =>
        new(name)
        {
            Description = description,
            HelpName = "N,N,...",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result => ParseSizes(name, result),
        };

    private static T? ParseCount<T>(string name, ArgumentResult result, T minimum)
        where T : struct, IBinaryInteger<T>
    {
        var text = result.Tokens[0].Value;
        if (T.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count >= minimum)
        {
            return count;
        }
        result.AddError(string.Create(CultureInfo.InvariantCulture, $"{name} takes a whole number of at least {minimum}, not '{text}'"));
        return null;
    }

    private static int[] ParseSizes(string name, ArgumentResult result)
    {
        var text = string.Join(',', result.Tokens.Select(t => t.Value));
        var sizes = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var size) || size < 1)
            {
                result.AddError($"{name} takes whole numbers of at least 1, separated by commas, not '{part}'");
                return [];
            }
            sizes.Add(size);
        }
        if (sizes.Count == 0)
        {
            result.AddError($"{name} needs at least one size");
        }
        return [.. sizes];
    }
}
