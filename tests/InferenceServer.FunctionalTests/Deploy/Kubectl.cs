using System.Diagnostics;

namespace InferenceServer.FunctionalTests.Deploy;

/// <summary>The <c>kubectl</c> on the PATH, run as a process: here only to render kustomizations (no cluster).</summary>
internal static class Kubectl
{
    /// <summary>Its full path; null when there is none.</summary>
    public static string? Path { get; } = Find();

    /// <summary>What <c>kubectl kustomize FOLDER</c> writes: the rendered manifests, as YAML documents.</summary>
    public static async Task<string> KustomizeAsync(string folder)
    {
        var info = new ProcessStartInfo(Path ?? throw new InvalidOperationException("kubectl is not installed"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("kustomize");
        info.ArgumentList.Add(folder);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"kubectl kustomize {folder} failed ({process.ExitCode}): {await error}");
        return await output;
    }

    private static string? Find()
    {
        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = System.IO.Path.Combine(folder, "kubectl");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }
}
