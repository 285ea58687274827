using System.Diagnostics;
using System.Reflection;

namespace InferenceServer.LoadTest.Ceiling;

/// <summary>
/// The trivial endpoint in a child process of this same executable (<c>loadtest --serve-trivial 0</c>), so the ceiling
/// is measured like a real server: in its own process with its own thread pool, not sharing the generator's.
/// </summary>
internal sealed class TrivialProcess : IAsyncDisposable
{
    /// <summary>The line the child prints once it listens: <c>trivial endpoint: rest=URL grpc=URL</c>.</summary>
    public const string ReadyPrefix = "trivial endpoint: ";

    /// <summary>Tells the child which process to outlive by no more than a second, should the parent be killed.</summary>
    public const string ParentVariable = "LOADTEST_PARENT_PID";

    private readonly Process _process;

    private TrivialProcess(Process process, Uri rest, Uri grpc)
    {
        _process = process;
        HttpAddress = rest;
        GrpcAddress = grpc;
    }

    public Uri HttpAddress { get; }

    public Uri GrpcAddress { get; }

    /// <summary>
    /// Starts the child, or returns null when this process is not the <c>loadtest</c> program (a test host, say), in
    /// which case the caller hosts the endpoint in-process.
    /// </summary>
    public static async Task<TrivialProcess?> TryStartAsync(CancellationToken cancellationToken)
    {
        var start = StartInfo();
        if (start is null)
        {
            return null;
        }
        var process = Process.Start(start);
        if (process is null)
        {
            return null;
        }
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            while (await process.StandardOutput.ReadLineAsync(timeout.Token).ConfigureAwait(false) is { } line)
            {
                if (line.StartsWith(ReadyPrefix, StringComparison.Ordinal))
                {
                    var urls = line[ReadyPrefix.Length..].Split(' ').Select(part => part.Split('=', 2)).ToDictionary(kv => kv[0], kv => new Uri(kv[1]));
                    return new TrivialProcess(process, urls["rest"], urls["grpc"]);
                }
            }
            throw new InvalidOperationException("the trivial endpoint process ended before it listened");
        }
        catch
        {
            Stop(process);
            process.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Stop(_process);
        await _process.WaitForExitAsync().ConfigureAwait(false);
        _process.Dispose();
    }

    /// <summary>In the child: completes when the parent named in <see cref="ParentVariable"/> is gone (never if none is named).</summary>
    public static async Task WaitForParentExitAsync(CancellationToken cancellationToken)
    {
        if (!int.TryParse(Environment.GetEnvironmentVariable(ParentVariable), out var pid))
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            return;
        }
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var parent = Process.GetProcessById(pid);
                if (parent.HasExited)
                {
                    return;
                }
            }
            catch (ArgumentException)
            {
                return;
            }
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        }
    }

    private static void Stop(Process process)
    {
        if (!process.HasExited)
        {
            // Our own child, ended by its handle.
            process.Kill();
        }
    }

    private static ProcessStartInfo? StartInfo()
    {
        var path = Environment.ProcessPath;
        var entry = Assembly.GetEntryAssembly()?.Location;
        if (path is null || entry is null || !Path.GetFileName(entry).Equals("loadtest.dll", StringComparison.Ordinal))
        {
            return null;
        }
        var start = new ProcessStartInfo(path) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = false };
        if (Path.GetFileNameWithoutExtension(path) == "dotnet")
        {
            // Started as `dotnet loadtest.dll`.
            start.ArgumentList.Add(entry);
        }
        else if (Path.GetFileNameWithoutExtension(path) != "loadtest")
        {
            return null;
        }
        start.Environment[ParentVariable] = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.ArgumentList.Add("--serve-trivial");
        start.ArgumentList.Add("0");
        start.ArgumentList.Add("--no-progress");
        return start;
    }
}
