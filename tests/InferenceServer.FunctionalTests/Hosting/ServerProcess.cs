using System.Diagnostics;
using System.Text.RegularExpressions;

namespace InferenceServer.FunctionalTests.Hosting;

/// <summary>
/// The real <c>inference-server</c> executable (the apphost the build copies next to the tests) in a process of its own,
/// with its standard output and error collected line by line: for what only a process shows (exit codes, what reaches
/// the console, the log formats).
/// </summary>
internal sealed partial class ServerProcess : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly List<string> _output = [];
    private readonly List<string> _error = [];
    private readonly Lock _lock = new();

    private ServerProcess(Process process) => _process = process;

    /// <summary>Every line written to standard output so far.</summary>
    public IReadOnlyList<string> Output
    {
        get
        {
            lock (_lock)
            {
                return [.. _output];
            }
        }
    }

    /// <summary>Every line written to standard error so far.</summary>
    public IReadOnlyList<string> Error
    {
        get
        {
            lock (_lock)
            {
                return [.. _error];
            }
        }
    }

    /// <summary>Starts <c>inference-server</c> with <paramref name="args"/>, in a working directory with no config of its own.</summary>
    public static ServerProcess Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "inference-server.exe" : "inference-server"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }
        var process = new Process { StartInfo = info };
        var server = new ServerProcess(process);
        process.OutputDataReceived += (_, e) => server.Add(server._output, e.Data);
        process.ErrorDataReceived += (_, e) => server.Add(server._error, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>Runs <c>inference-server</c> to its end; returns its exit code.</summary>
    public static async Task<(int ExitCode, ServerProcess Process)> RunAsync(params string[] args)
    {
        var server = Start(args);
        return (await server.WaitForExitAsync(), server);
    }

    /// <summary>Waits for the process to end; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync()
    {
        using var timeout = new CancellationTokenSource(Patience);
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    /// <summary>Waits until a line of standard output matches <paramref name="pattern"/> and returns it; fails when the process ends first.</summary>
    public async Task<string> WaitForOutputAsync(Regex pattern)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            foreach (var line in Output)
            {
                if (pattern.IsMatch(line))
                {
                    return line;
                }
            }
            Assert.False(_process.HasExited && Output.All(l => !pattern.IsMatch(l)),
                $"the server exited ({(_process.HasExited ? _process.ExitCode : 0)}) before writing a line like /{pattern}/; stderr: {string.Join(" | ", Error)}");
            Assert.True(DateTime.UtcNow < deadline, $"no line like /{pattern}/ within {Patience}; output: {string.Join(" | ", Output.TakeLast(5))}");
            await Task.Delay(50);
        }
    }

    /// <summary>Waits for the log line that names the HTTP port, and returns a client for it.</summary>
    public async Task<HttpClient> HttpClientAsync()
    {
        var line = await WaitForOutputAsync(HttpListening());
        return new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{HttpListening().Match(line).Groups[1].Value}") };
    }

    [GeneratedRegex(@"HTTP/REST \(KServe v2\) listening on http://127\.0\.0\.1:(\d+)")]
    private static partial Regex HttpListening();

    private void Add(List<string> lines, string? line)
    {
        if (line is not null)
        {
            lock (_lock)
            {
                lines.Add(line);
            }
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(TimeSpan.FromSeconds(10));
        }
        _process.Dispose();
    }
}
