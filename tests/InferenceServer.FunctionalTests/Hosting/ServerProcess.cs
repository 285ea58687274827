using System.Diagnostics;
using System.Runtime.InteropServices;
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

    /// <summary>The process id, for signals.</summary>
    public int Id => _process.Id;

    /// <summary>Whether the process has ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The exit code, once <see cref="HasExited"/>.</summary>
    public int ExitCode => _process.ExitCode;

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

    /// <summary>
    /// Starts <c>inference-server</c> with <paramref name="args"/>, in a working directory with no config of its own;
    /// <paramref name="shell"/>, when given, runs first in <c>/bin/sh</c>, which then becomes the server (e.g. to set a
    /// ulimit of the server's own).
    /// </summary>
    public static ServerProcess Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, string? shell = null)
    {
        var server = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "inference-server.exe" : "inference-server");
        var info = new ProcessStartInfo(shell is null ? server : "/bin/sh")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        if (shell is not null)
        {
            // exec: the server replaces the shell, so the process id (and a kill) is the server's.
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(shell + "; exec \"$0\" \"$@\"");
            info.ArgumentList.Add(server);
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
        var started = new ServerProcess(process);
        process.OutputDataReceived += (_, e) => started.Add(started._output, e.Data);
        process.ErrorDataReceived += (_, e) => started.Add(started._error, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return started;
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
    public void KillHard() => _process.Kill(entireProcessTree: false);

    /// <summary>Sends SIGTERM, as a service manager or Kubernetes stops the server (.NET's Process can only SIGKILL).</summary>
    public void Terminate()
    {
        if (SendSignal(_process.Id, SigTerm) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    private const int SigTerm = 15;

    [LibraryImport("libc.so.6", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);

    [GeneratedRegex(@"HTTP/REST \(KServe v2\) listening on http://127\.0\.0\.1:(\d+)")]
    private static partial Regex HttpListening();

    [GeneratedRegex(@"gRPC \(.*\) listening on http://127\.0\.0\.1:(\d+)")]
    private static partial Regex GrpcListening();

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
