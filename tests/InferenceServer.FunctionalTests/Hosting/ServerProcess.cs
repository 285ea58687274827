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

    /// <summary>The process id, for signals and /proc.</summary>
    public int Id => _process.Id;

    /// <summary>Whether the process has ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Starts <c>inference-server</c> with <paramref name="args"/>, in a working directory with no config of its own;
    /// with <paramref name="descriptorLimit"/>, under that <c>ulimit -n</c> (soft and hard).
    /// </summary>
    public static ServerProcess Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, int? descriptorLimit = null)
    {
        var executable = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "inference-server.exe" : "inference-server");
        var info = new ProcessStartInfo(descriptorLimit is null ? executable : "/bin/bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        if (descriptorLimit is { } limit)
        {
            // exec: the server replaces the shell, so the process id (and a kill) is the server's.
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"ulimit -n {limit} && exec \"$0\" \"$@\""));
            info.ArgumentList.Add(executable);
        }
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

    /// <summary>Sends SIGTERM, as a container runtime stopping the server does.</summary>
    public void Terminate() => Assert.Equal(0, SendSignal(_process.Id, 15));

    /// <summary>Kills the process at once (SIGKILL): it runs no cleanup of any kind.</summary>
    public void KillNow()
    {
        _process.Kill();
        _process.WaitForExit(TimeSpan.FromSeconds(10));
    }

    /// <summary>The process's resident memory (VmRSS), in bytes.</summary>
    public long ResidentBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }
        throw new InvalidOperationException("no VmRSS line in /proc/<pid>/status");
    }

    [System.Runtime.InteropServices.LibraryImport("libc.so.6", EntryPoint = "kill")]
    private static partial int SendSignal(int pid, int signal);

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
