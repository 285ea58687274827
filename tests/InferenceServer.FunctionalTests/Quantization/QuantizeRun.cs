using InferenceServer.Cli;
using InferenceServer.Core.Backends;

namespace InferenceServer.FunctionalTests.Quantization;

/// <summary>One <c>inference-server quantize</c> run in-process, as the binary runs it: its exit code, stdout and stderr.</summary>
internal sealed record QuantizeRun(int ExitCode, string Output, string Error)
{
    /// <summary>Runs the command; <paramref name="backend"/> replaces ONNX Runtime's own (e.g. one with a broken quantizer).</summary>
    public static async Task<QuantizeRun> RunAsync(IModelBackend? backend, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CommandLine.RunAsync(["quantize", .. args], (_, _) => Task.FromResult(0), output, error,
            backends: backend is null ? null : () => [backend]);
        return new QuantizeRun(code, output.ToString(), error.ToString());
    }

    public override string ToString() => $"exit {ExitCode}; stdout: {Output}; stderr: {Error}";
}
