using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Net;

namespace InferenceServer.Cli;

/// <summary>
/// The <c>serve</c> verb: one System.CommandLine option per <see cref="ServeFlags"/> entry, each checked as it is parsed
/// (a bad value is one error naming the flag and the valid values), and the flags given turned into configuration keys.
/// Only flags that were given become keys, so the environment and <c>config/appsettings.json</c> still apply to the rest.
/// </summary>
internal sealed class ServeCommand
{
    private readonly List<(ServeFlag Flag, Option Option)> _options = [];

    /// <summary>Builds the verb; <paramref name="run"/> serves with the settings the command line gives and returns the exit code.</summary>
    public ServeCommand(Func<IReadOnlyDictionary<string, string?>, CancellationToken, Task<int>> run)
    {
        Command = new Command("serve",
            "Serves the models of Triton-style model repositories over the KServe v2 protocol (REST and gRPC), with Prometheus metrics. "
            + "Every flag can also be set in config/appsettings.json or the environment (e.g. Server__ModelRepository=/models); the command line wins.");
        foreach (var flag in ServeFlags.All)
        {
            // Every value is kept as text: it becomes a configuration value, and the checks below give errors that name
            // the flag and what it takes instead of a .NET type.
            Option option = flag.Kind == FlagKind.Repeated
                ? new Option<string[]>(flag.Name, flag.Aliases) { Arity = ArgumentArity.OneOrMore, DefaultValueFactory = _ => [flag.Default] }
                : (Option)new Option<string>(flag.Name, flag.Aliases)
                {
                    Arity = flag.Kind == FlagKind.Boolean ? ArgumentArity.ZeroOrOne : ArgumentArity.ExactlyOne,
                    // Only what --help shows: a flag that is not given sets no key (see Settings).
                    DefaultValueFactory = _ => flag.Default,
                };
            option.Description = flag.Help;
            option.HelpName = flag.HelpName ?? HelpName(flag);
            option.Validators.Add(result => Check(flag, result));
            Command.Options.Add(option);
            _options.Add((flag, option));
        }
        Command.Validators.Add(CheckLoadModels);
        Command.Validators.Add(result => CheckRestrictions(result, "Http:RestrictedApi", Protocols.Access.ApiAccess.ParseRest));
        Command.Validators.Add(result => CheckRestrictions(result, "Grpc:RestrictedProtocol", Protocols.Access.ApiAccess.ParseGrpc));
        Command.SetAction((result, cancellationToken) => run(Settings(result), cancellationToken));
    }

    /// <summary>The verb, to add to the root command.</summary>
    public Command Command { get; }

    /// <summary>The configuration keys and values of the flags given on <paramref name="result"/>'s command line.</summary>
    public Dictionary<string, string?> Settings(ParseResult result)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (flag, option) in _options)
        {
            if (result.GetResult(option) is not { Implicit: false } given)
            {
                continue;
            }
            var tokens = given.Tokens;
            switch (flag.Kind)
            {
                case FlagKind.Repeated:
                    for (var i = 0; i < tokens.Count; i++)
                    {
                        settings[$"{flag.Key}:{i.ToString(CultureInfo.InvariantCulture)}"] = tokens[i].Value;
                    }
                    break;
                case FlagKind.Boolean:
                    settings[flag.Key] = tokens.Count == 0 || ParseBoolean(tokens[0].Value) == true ? "true" : "false";
                    break;
                case FlagKind.Verbosity:
                    settings[flag.Key] = ParseBoolean(tokens[0].Value) is { } on ? (on ? "1" : "0") : tokens[0].Value;
                    break;
                case FlagKind.Choice:
                    var value = Array.Find(flag.Values, v => v.Equals(tokens[0].Value, StringComparison.OrdinalIgnoreCase))!;
                    // Spelt with a hyphen on the command line (on-demand), bound to the enum member without it (OnDemand).
                    settings[flag.Key] = flag.NoneIsEmpty && value == "none" ? "" : value.Replace("-", "", StringComparison.Ordinal);
                    break;
                default:
                    settings[flag.Key] = tokens[0].Value;
                    break;
            }
        }
        return settings;
    }

    /// <summary>Triton's booleans: true/on/1 and false/off/0, in any case; null for anything else.</summary>
    public static bool? ParseBoolean(string text) => text.ToLowerInvariant() switch
    {
        "true" or "on" or "1" => true,
        "false" or "off" or "0" => false,
        _ => null,
    };

    private static string HelpName(ServeFlag flag) => flag.Kind switch
    {
        FlagKind.Boolean => "true|false",
        FlagKind.Choice => string.Join('|', flag.Values),
        _ => "VALUE",
    };

    private static void Check(ServeFlag flag, OptionResult result)
    {
        foreach (var token in result.Tokens)
        {
            if (Problem(flag, token.Value) is { } expected)
            {
                result.AddError($"{flag.Name}: '{token.Value}' is not valid; expected {expected}");
                return;
            }
        }
    }

    // What the flag takes, when text is not valid for it; null when it is.
    private static string? Problem(ServeFlag flag, string text)
    {
        switch (flag.Kind)
        {
            case FlagKind.Boolean:
                return ParseBoolean(text) is null ? "true or false (also on/off, 1/0)" : null;
            case FlagKind.Integer:
                return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) && number >= flag.Min && number <= flag.Max
                    ? null
                    : $"a whole number from {flag.Min.ToString(CultureInfo.InvariantCulture)} to {flag.Max.ToString(CultureInfo.InvariantCulture)}";
            case FlagKind.Number:
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && double.IsFinite(real) && real >= flag.Min
                    ? null
                    : $"a number of at least {flag.Min.ToString(CultureInfo.InvariantCulture)}";
            case FlagKind.Choice:
                return Array.Exists(flag.Values, v => v.Equals(text, StringComparison.OrdinalIgnoreCase)) ? null : OneOf(flag.Values);
            case FlagKind.Address:
                return text == "localhost" || IPAddress.TryParse(text, out _) ? null : "an IP address (e.g. 0.0.0.0, 127.0.0.1, ::) or localhost";
            case FlagKind.Verbosity:
                return ParseBoolean(text) is not null || (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out _)) ? null : "a level of 0 or more (0 is off), or true or false";
            default:
                return text.Length == 0 ? "a value that is not empty" : null;
        }
    }

    // "a, b or c".
    private static string OneOf(string[] values) => values.Length == 1 ? values[0] : $"{string.Join(", ", values[..^1])} or {values[^1]}";

    // The restricted-API groups of one flag, checked together: a category may be in one group only.
    private void CheckRestrictions(CommandResult result, string key, Func<IEnumerable<string>, string, Protocols.Access.ApiRestrictions> parse)
    {
        var (flag, option) = _options.Find(o => o.Flag.Key == key);
        if (result.GetResult(option) is { Implicit: false } given)
        {
            try
            {
                parse(given.Tokens.Select(t => t.Value), flag.Name);
            }
            catch (ArgumentException e)
            {
                result.AddError(e.Message);
            }
        }
    }

    // Triton's rule: '*' (every model) is the only --load-model when it is given.
    private void CheckLoadModels(CommandResult result)
    {
        var (flag, option) = _options.Find(o => o.Flag.Key == "Server:LoadModels");
        if (result.GetResult(option) is { Implicit: false } given && given.Tokens.Count > 1 && given.Tokens.Any(t => t.Value == Core.Lifecycle.ModelLifecycleOptions.AllModels))
        {
            result.AddError($"{flag.Name}: '{Core.Lifecycle.ModelLifecycleOptions.AllModels}' loads every model and cannot be given with other names");
        }
    }
}
