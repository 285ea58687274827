using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace InferenceServer.FunctionalTests.Features.Sidecar;

/// <summary>
/// The real <c>feature-sidecar</c> executable (the apphost the build copies next to the tests) in its own process, its
/// output collected line by line.
/// </summary>
internal sealed partial class SidecarProcess : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly List<string> _output = [];
    private readonly List<string> _error = [];
    private readonly Lock _lock = new();
    private bool _disposed;

    private SidecarProcess(Process process) => _process = process;

    public bool HasExited => _process.HasExited;

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

    public static SidecarProcess Start(params string[] args) => Start(null, args);

    /// <summary>Starts the sidecar with <paramref name="environment"/> added to the test's own environment.</summary>
    public static SidecarProcess Start(IReadOnlyDictionary<string, string>? environment, string[] args)
    {
        var info = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "feature-sidecar"))
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
        // Spectre.Console draws no live progress bar into a pipe, but keep its width fixed for stable lines.
        info.Environment["COLUMNS"] = "120";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }
        var process = new Process { StartInfo = info };
        var started = new SidecarProcess(process);
        process.OutputDataReceived += (_, e) => started.Add(started._output, e.Data);
        process.ErrorDataReceived += (_, e) => started.Add(started._error, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return started;
    }

    /// <summary>Starts <c>serve</c> and waits until it listens.</summary>
    public static Task<SidecarProcess> ServeAsync(string socket, string store, params string[] more) => ServeAsync(null, socket, store, more);

    /// <summary>Starts <c>serve</c> with <paramref name="environment"/> added and waits until it listens.</summary>
    public static async Task<SidecarProcess> ServeAsync(IReadOnlyDictionary<string, string>? environment, string socket, string store, params string[] more)
    {
        var sidecar = Start(environment, ["serve", "--socket", socket, "--store", store, .. more]);
        await sidecar.WaitForOutputAsync(Listening());
        return sidecar;
    }

    /// <summary>Runs a command to its end; returns its exit code and the process (for its output).</summary>
    public static Task<(int ExitCode, SidecarProcess Process)> RunAsync(params string[] args) => RunAsync(null, args);

    /// <summary>Runs a command to its end with <paramref name="environment"/> added.</summary>
    public static async Task<(int ExitCode, SidecarProcess Process)> RunAsync(IReadOnlyDictionary<string, string>? environment, string[] args)
    {
        var sidecar = Start(environment, args);
        return (await sidecar.WaitForExitAsync(), sidecar);
    }

    public async Task<int> WaitForExitAsync()
    {
        using var timeout = new CancellationTokenSource(Patience);
        await _process.WaitForExitAsync(timeout.Token);
        // The asynchronous readers may still hold the last lines.
        _process.WaitForExit();
        return _process.ExitCode;
    }

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
            Assert.False(_process.HasExited, $"feature-sidecar exited ({(_process.HasExited ? _process.ExitCode : 0)}) before a line like /{pattern}/; stderr: {string.Join(" | ", Error)}; stdout: {string.Join(" | ", Output)}");
            Assert.True(DateTime.UtcNow < deadline, $"no line like /{pattern}/ within {Patience}; output: {string.Join(" | ", Output.TakeLast(5))}");
            await Task.Delay(20);
        }
    }

    /// <summary>Sends SIGKILL: the sidecar ends at once, leaving its socket file behind.</summary>
    public void KillHard()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    /// <summary>Sends SIGTERM, as a service manager stops the sidecar.</summary>
    public void Terminate()
    {
        if (SendSignal(_process.Id, 15) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc.so.6", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);

    [GeneratedRegex("feature sidecar listening on unix:")]
    private static partial Regex Listening();

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
