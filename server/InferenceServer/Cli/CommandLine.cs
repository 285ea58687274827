using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;

namespace InferenceServer.Cli;

/// <summary>
/// The <c>inference-server</c> command line on System.CommandLine: a root command with one subcommand per verb
/// (<c>serve</c>, <c>score</c>, <c>profile</c>, <c>quantize</c>). A usage error is one line on stderr and exit code 2, never the whole help; <c>--help</c> lists every
/// flag with its default; <c>--version</c> prints the server's version.
/// </summary>
internal static class CommandLine
{
    /// <summary>The exit code of a usage error (a wrong flag, a bad value).</summary>
    public const int UsageError = 2;

    private const string ProgramName = "inference-server";

    /// <summary>
    /// Parses <paramref name="args"/> and runs the verb they name; returns the process exit code. <paramref name="serve"/>
    /// runs the server with the settings of <c>serve</c>'s flags.
    /// </summary>
    /// <paramref name="score"/> runs a batch scoring run (default: <see cref="Hosting.ScoreHost"/>, writing to <paramref name="output"/>).
    /// <paramref name="backends"/> makes the runtimes <c>quantize</c> loads models with (default: ONNX Runtime).
    public static async Task<int> RunAsync(string[] args, Func<IReadOnlyDictionary<string, string?>, CancellationToken, Task<int>> serve,
        TextWriter output, TextWriter error, Func<ScoreRequest, CancellationToken, Task<int>>? score = null,
        Func<IEnumerable<Core.Backends.IModelBackend>>? backends = null)
    {
        score ??= (request, cancellationToken) => Hosting.ScoreHost.RunAsync(request, output, error, interactive: ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected, cancellationToken);
        var root = CreateRoot(new ServeCommand(serve), new ScoreCommand(score), output, error, backends);
        var invocation = new InvocationConfiguration
        {
            Output = output,
            Error = error,
            // The server handles SIGTERM and Ctrl+C itself: it drains in-flight requests for up to --exit-timeout-secs.
            ProcessTerminationTimeout = null,
        };
        if (args.Length == 0)
        {
            // No verb: say what there is, as a usage error.
            await root.Parse(["--help"], Parsing).InvokeAsync(invocation).ConfigureAwait(false);
            return UsageError;
        }
        var result = root.Parse(args, Parsing);
        // --help and --version answer even on a command line with mistakes in it.
        if (result.Action is not HelpAction && result.Action is not VersionAction && Describe(result) is { } problem)
        {
            await error.WriteLineAsync($"{ProgramName}: {problem}").ConfigureAwait(false);
            return UsageError;
        }
        return await result.InvokeAsync(invocation).ConfigureAwait(false);
    }

    /// <summary>
    /// The configuration keys <c>serve</c>'s flags (<paramref name="serveArgs"/>, after the verb) set; throws
    /// <see cref="UsageException"/> with the one-line message when they are wrong.
    /// </summary>
    public static Dictionary<string, string?> Parse(IReadOnlyList<string> serveArgs)
    {
        var serve = new ServeCommand((_, _) => Task.FromResult(0));
        var result = CreateRoot(serve, new ScoreCommand((_, _) => Task.FromResult(0)), TextWriter.Null, TextWriter.Null).Parse(["serve", .. serveArgs], Parsing);
        return Describe(result) is { } problem ? throw new UsageException(problem) : serve.Settings(result);
    }

    /// <summary>
    /// The run <c>score</c>'s flags (<paramref name="scoreArgs"/>, after the verb) ask for; throws
    /// <see cref="UsageException"/> with the one-line message when they are wrong.
    /// </summary>
    public static ScoreRequest ParseScore(IReadOnlyList<string> scoreArgs)
    {
        var score = new ScoreCommand((_, _) => Task.FromResult(0));
        var result = CreateRoot(new ServeCommand((_, _) => Task.FromResult(0)), score, TextWriter.Null, TextWriter.Null).Parse(["score", .. scoreArgs], Parsing);
        return Describe(result) is { } problem ? throw new UsageException(problem) : score.Request(result);
    }

    // Response files (@file) are not Triton's, and a path starting with '@' must stay a path.
    private static ParserConfiguration Parsing { get; } = new() { ResponseFileTokenReplacer = null };

    private static RootCommand CreateRoot(ServeCommand serve, ScoreCommand score, TextWriter output, TextWriter error,
        Func<IEnumerable<Core.Backends.IModelBackend>>? backends = null)
    {
        var root = new RootCommand("Serves ONNX models from Triton-style model repositories over KServe v2 REST and gRPC, scores files with them, profiles their training data for drift monitoring, and quantizes them behind an accuracy gate.")
        {
            serve.Command, score.Command, ProfileCommand.Create(output, error),
            QuantizeCommand.Create(output, error, backends ?? (static () => [new OnnxRuntime.OnnxRuntimeBackend()])),
        };
        foreach (var option in root.Options)
        {
            if (option is VersionOption version)
            {
                version.Action = new VersionAction(output);
            }
        }
        return root;
    }

    /// <summary>What is wrong with the command line, in one line; null when nothing is.</summary>
    private static string? Describe(ParseResult result)
    {
        if (result.UnmatchedTokens.Count > 0)
        {
            return DescribeUnmatched(result.UnmatchedTokens[0], result.CommandResult.Command is RootCommand ? null : result.CommandResult.Command.Name);
        }
        if (result.Errors.Count == 0)
        {
            return null;
        }
        var error = result.Errors[0];
        return error.SymbolResult switch
        {
            OptionResult { Tokens.Count: 0 } option when option.Option.Arity.MinimumNumberOfValues > 0 =>
                $"flag '{option.IdentifierToken?.Value ?? option.Option.Name}' needs a value",
            OptionResult option when option.Tokens.Count > option.Option.Arity.MaximumNumberOfValues =>
                $"flag '{option.Option.Name}' is given more than once",
            CommandResult { Command: RootCommand } => $"no command given; the commands are serve, score, profile and quantize (see {ProgramName} --help)",
            _ => error.Message,
        };
    }

    private static string DescribeUnmatched(string token, string? verb)
    {
        var atRoot = verb is null;
        if (!token.StartsWith('-'))
        {
            return atRoot ? $"unknown command '{token}'; the commands are serve, score, profile and quantize (see {ProgramName} --help)" : $"unexpected argument '{token}'";
        }
        var equals = token.IndexOf('=', StringComparison.Ordinal);
        var name = equals < 0 ? token : token[..equals];
        if (verb != "score" && ServeFlags.UnsupportedTriton.TryGetValue(name, out var triton))
        {
            return $"{name} is a Triton flag for {triton.Feature}, which is not supported" + (triton.Instead.Length > 0 ? $"; {triton.Instead}" : "");
        }
        if (atRoot && ServeFlags.All.Any(f => f.Name == name || f.Aliases.Contains(name)))
        {
            return $"'{name}' is a flag of serve; it goes after the command: {ProgramName} serve {name} ...";
        }
        return $"unknown flag '{name}' (see {ProgramName} {(atRoot ? "" : verb + " ")}--help)";
    }
}
