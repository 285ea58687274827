using System.Text.RegularExpressions;

namespace InferenceServer.FunctionalTests.Features.Sidecar;

/// <summary>
/// The real <c>feature-sidecar</c> executable (the apphost the build copies next to the tests) in its own process (a
/// <see cref="ChildProcess"/>), with its <c>serve</c> started and waited for.
/// </summary>
internal sealed partial class SidecarProcess : IDisposable
{
    private readonly ChildProcess _process;

    private SidecarProcess(ChildProcess process) => _process = process;

    public bool HasExited => _process.HasExited;

    public IReadOnlyList<string> Output => _process.Output;

    public IReadOnlyList<string> Error => _process.Error;

    public static SidecarProcess Start(params string[] args) => Start(null, args);

    /// <summary>Starts the sidecar with <paramref name="environment"/> added to the test's own environment.</summary>
    public static SidecarProcess Start(IReadOnlyDictionary<string, string>? environment, string[] args)
    {
        // Spectre.Console draws no live progress bar into a pipe, but keep its width fixed for stable lines.
        var all = new Dictionary<string, string> { ["COLUMNS"] = "120" };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            all[name] = value;
        }
        return new SidecarProcess(ChildProcess.Start(Path.Combine(AppContext.BaseDirectory, "feature-sidecar"), args, all, "feature-sidecar"));
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

    public Task<int> WaitForExitAsync() => _process.WaitForExitAsync();

    public Task<string> WaitForOutputAsync(Regex pattern) => _process.WaitForOutputAsync(pattern);

    /// <summary>Sends SIGKILL: the sidecar ends at once, leaving its socket file behind.</summary>
    public void KillHard() => _process.KillHard();

    /// <summary>Sends SIGTERM, as a service manager stops the sidecar.</summary>
    public void Terminate() => _process.Terminate();

    [GeneratedRegex("feature sidecar listening on unix:")]
    private static partial Regex Listening();

    public void Dispose() => _process.Dispose();
}
