using InferenceServer.LoadTest.Cli;

namespace InferenceServer.LoadTest.Tests.Cli;

/// <summary>The command line as a user meets it: <c>--help</c> and the one-line refusal of bad usage (exit 2).</summary>
public sealed class CommandLineTests
{
    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exitCode = await new LoadTestApp(stdout, stderr, TimeProvider.System, terminal: false).RunAsync(args, CancellationToken.None);
        return (exitCode, stdout.ToString(), stderr.ToString());
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("-?")]
    public async Task Help_lists_every_flag_with_its_default(string flag)
    {
        var (exitCode, output, error) = await RunAsync(flag);

        Assert.Equal(ExitCodes.Passed, exitCode);
        Assert.Empty(error);
        var lines = output.Split('\n');
        foreach (var option in LoadTestCommand.All)
        {
            Assert.Contains(lines, l => l.TrimStart().StartsWith(option.Name + " ", StringComparison.Ordinal));
        }
        foreach (var (name, shown) in (ReadOnlySpan<(string, string)>)[
            ("--concurrency", "[default: 1]"), ("--protocol", "[default: rest-json]"), ("--duration", "[default: 10s;"), ("--timeout", "[default: 10s]"),
            ("--max-trials", "[default: 40]"), ("--max-trial-duration", "[default: 60s]"), ("--precision", "[default: 0.05]"), ("--url", "[default: http://127.0.0.1:8000")])
        {
            Assert.Contains(lines, l => l.TrimStart().StartsWith(name + " ", StringComparison.Ordinal) && l.Contains(shown, StringComparison.Ordinal));
        }
        Assert.Contains("Exit codes: 0 every SLA assertion held", output, StringComparison.Ordinal);
        // Our --version is the model's version, not the library's version printer.
        Assert.Contains(lines, l => l.TrimStart().StartsWith("--version <V>", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("unknown flag '--colour' (see --help)", "--model", "m", "--colour", "red")]
    [InlineData("--rate: 'fast' is not a positive number", "--model", "m", "--rate", "fast")]
    [InlineData("--protocol: 'soap' is not rest-json, rest-binary, rest-predict or grpc", "--model", "m", "--protocol", "soap")]
    [InlineData("--find-max-rate: 'maybe' is not true or false", "--model", "m", "--find-max-rate=maybe")]
    [InlineData("--concurrency: '2.5' is not a whole number from 1 to 100000", "--model", "m", "--concurrency", "2.5")]
    [InlineData("--timeout needs a value (D)", "--model", "m", "--timeout")]
    [InlineData("--arrival: 'bursty' is not constant or poisson", "--model", "m", "--rate", "5", "--arrival", "bursty")]
    public async Task Bad_usage_gets_one_line_naming_the_flag_and_what_it_takes_and_exit_code_2(string message, params string[] args)
    {
        var (exitCode, output, error) = await RunAsync(args);

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Empty(output);
        Assert.Equal($"loadtest: {message}{Environment.NewLine}", error);
        Assert.DoesNotContain("System.", error, StringComparison.Ordinal);
    }
}
