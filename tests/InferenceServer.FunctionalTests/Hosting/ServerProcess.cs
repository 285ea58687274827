using System.Text.RegularExpressions;

namespace InferenceServer.FunctionalTests.Hosting;

/// <summary>
/// The real <c>inference-server</c> executable (the apphost the build copies next to the tests) in a process of its own
/// (a <see cref="ChildProcess"/>): for what only a process shows (exit codes, what reaches the console, the log
/// formats), plus the server's own way of saying where it listens.
/// </summary>
internal sealed partial class ServerProcess : IDisposable
{
    private readonly ChildProcess _process;

    private ServerProcess(ChildProcess process) => _process = process;

    /// <summary>The process id, for signals.</summary>
    public int Id => _process.Id;

    /// <summary>Whether the process has ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The exit code, once <see cref="HasExited"/>.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Every line written to standard output so far.</summary>
    public IReadOnlyList<string> Output => _process.Output;

    /// <summary>Every line written to standard error so far.</summary>
    public IReadOnlyList<string> Error => _process.Error;

    /// <summary>
    /// Starts <c>inference-server</c> with <paramref name="args"/>, in a working directory with no config of its own;
    /// <paramref name="shell"/>, when given, runs first in <c>/bin/sh</c>, which then becomes the server (e.g. to set a
    /// ulimit of the server's own).
    /// </summary>
    public static ServerProcess Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, string? shell = null)
    {
        var server = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "inference-server.exe" : "inference-server");
        // exec: the server replaces the shell, so the process id (and a kill) is the server's.
        var process = shell is null
            ? ChildProcess.Start(server, args, environment, "the server")
            : ChildProcess.Start("/bin/sh", ["-c", shell + "; exec \"$0\" \"$@\"", server, .. args], environment, "the server");
        return new ServerProcess(process);
    }

    /// <summary>Runs <c>inference-server</c> to its end; returns its exit code.</summary>
    public static async Task<(int ExitCode, ServerProcess Process)> RunAsync(params string[] args)
    {
        var server = Start(args);
        return (await server.WaitForExitAsync(), server);
    }

    /// <summary>Waits for the process to end; returns its exit code.</summary>
    public Task<int> WaitForExitAsync() => _process.WaitForExitAsync();

    /// <summary>Waits until a line of standard output matches <paramref name="pattern"/> and returns it; fails when the process ends first.</summary>
    public Task<string> WaitForOutputAsync(Regex pattern) => _process.WaitForOutputAsync(pattern);

    /// <summary>The process's resident memory (VmRSS), in bytes.</summary>
    public long ResidentBytes() => _process.ResidentBytes();

    /// <summary>Waits for the log line that names the HTTP port, and returns a client for it.</summary>
    public async Task<HttpClient> HttpClientAsync()
    {
        var line = await WaitForOutputAsync(HttpListening());
        return new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{HttpListening().Match(line).Groups[1].Value}") };
    }

    /// <summary>Waits for the log line that names the gRPC port, and returns its address.</summary>
    public async Task<Uri> GrpcAddressAsync()
    {
        var line = await WaitForOutputAsync(GrpcListening());
        return new Uri($"http://127.0.0.1:{GrpcListening().Match(line).Groups[1].Value}");
    }

    /// <summary>Sends SIGKILL: the process ends at once, with no chance to clean up.</summary>
    public void KillHard() => _process.KillHard();

    /// <summary>Sends SIGTERM, as a service manager or Kubernetes stops the server.</summary>
    public void Terminate() => _process.Terminate();

    [GeneratedRegex(@"HTTP/REST \(KServe v2\) listening on http://127\.0\.0\.1:(\d+)")]
    private static partial Regex HttpListening();

    [GeneratedRegex(@"gRPC \(.*\) listening on http://127\.0\.0\.1:(\d+)")]
    private static partial Regex GrpcListening();

    public void Dispose() => _process.Dispose();
}
