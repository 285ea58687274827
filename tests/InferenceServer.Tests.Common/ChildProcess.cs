using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Xunit;

namespace InferenceServer.Tests.Common;

/// <summary>
/// An executable the tests run in a process of its own (the server, the feature sidecar), its standard output and
/// error collected line by line: start it, wait for a line or for its end, signal it, read its memory. Killed with its
/// children on dispose if still running.
/// </summary>
internal sealed partial class ChildProcess : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly string _name;
    private readonly List<string> _output = [];
    private readonly List<string> _error = [];
    private readonly Lock _lock = new();
    private bool _disposed;

    private ChildProcess(Process process, string name)
    {
        _process = process;
        _name = name;
    }

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
    /// Starts <paramref name="executable"/> with <paramref name="args"/> in the temporary folder, with
    /// <paramref name="environment"/> added to the test's own; <paramref name="name"/> names it in failures.
    /// </summary>
    public static ChildProcess Start(string executable, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, string? name = null)
    {
        var info = new ProcessStartInfo(executable)
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
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }
        var process = new Process { StartInfo = info };
        var started = new ChildProcess(process, name ?? Path.GetFileName(executable));
        process.OutputDataReceived += (_, e) => started.Add(started._output, e.Data);
        process.ErrorDataReceived += (_, e) => started.Add(started._error, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return started;
    }

    /// <summary>Waits for the process to end and for its last lines to be read; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync()
    {
        using var timeout = new CancellationTokenSource(Patience);
        await _process.WaitForExitAsync(timeout.Token);
        // The asynchronous readers may still hold the last lines; this waits for them.
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>Waits until a line of standard output matches <paramref name="pattern"/> and returns it; fails when the process ends first.</summary>
    public async Task<string> WaitForOutputAsync(Regex pattern)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            // Whether it had ended is read before the lines, so a line written just before the end is still seen.
            var exited = _process.HasExited;
            foreach (var line in Output)
            {
                if (pattern.IsMatch(line))
                {
                    return line;
                }
            }
            if (exited)
            {
                _process.WaitForExit();
                if (Output.FirstOrDefault(pattern.IsMatch) is { } last)
                {
                    return last;
                }
                Assert.Fail($"{_name} exited ({_process.ExitCode}) before writing a line like /{pattern}/; stderr: {string.Join(" | ", Error)}; stdout: {string.Join(" | ", Output.TakeLast(5))}");
            }
            Assert.True(DateTime.UtcNow < deadline, $"{_name} wrote no line like /{pattern}/ within {Patience}; output: {string.Join(" | ", Output.TakeLast(5))}");
            await Task.Delay(20);
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

    /// <summary>Sends SIGKILL: the process ends at once, with no chance to clean up (a socket or a lock file stays behind).</summary>
    public void KillHard()
    {
        _process.Kill(entireProcessTree: false);
        _process.WaitForExit();
    }

    /// <summary>Sends SIGTERM, as a service manager or Kubernetes stops a process (.NET's Process can only SIGKILL).</summary>
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
        // A test may dispose a process it also keeps in a list that its own Dispose empties.
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(TimeSpan.FromSeconds(10));
        }
        _process.Dispose();
    }
}
