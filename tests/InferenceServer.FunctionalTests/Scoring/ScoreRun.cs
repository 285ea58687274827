using InferenceServer.Cli;

namespace InferenceServer.FunctionalTests.Scoring;

/// <summary>One <c>inference-server score</c> command run in-process, as the binary runs it: its exit code, stdout and stderr.</summary>
internal sealed record ScoreRun(int ExitCode, string Output, string Error)
{
    public static async Task<ScoreRun> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CommandLine.RunAsync(["score", .. args], (_, _) => Task.FromResult(0), output, error);
        return new ScoreRun(code, output.ToString(), error.ToString());
    }

    public override string ToString() => $"exit {ExitCode}; stdout: {Output}; stderr: {Error}";
}
