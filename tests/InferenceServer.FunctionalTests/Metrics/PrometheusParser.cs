using System.Diagnostics;
using System.Text.Json.Nodes;

namespace InferenceServer.FunctionalTests.Metrics;

/// <summary>
/// Parses exposition text with the reference Python client's parser (Debian's
/// python3-prometheus-client under /usr/bin/python3; the python3 on PATH may be another one),
/// installing the package when it is missing and the tests run as root.
/// </summary>
internal static class PrometheusParser
{
    private const string Python = "/usr/bin/python3";
    private const string Package = "python3-prometheus-client";

    // Families as JSON: name, type, help, and each sample's name, labels and value.
    private const string Script = """
        import json, math, sys
        from prometheus_client.parser import text_string_to_metric_families
        families = []
        for family in text_string_to_metric_families(sys.stdin.read()):
            samples = [{"name": s.name, "labels": s.labels, "value": s.value if math.isfinite(s.value) else str(s.value)} for s in family.samples]
            families.append({"name": family.name, "type": family.type, "help": family.documentation, "samples": samples})
        print(json.dumps(families))
        """;

    private static readonly SemaphoreSlim InstallLock = new(1, 1);

    public static async Task<JsonArray> ParseAsync(string text)
    {
        await EnsureInstalledAsync();
        var (exitCode, output, error) = await RunAsync(Python, ["-c", Script], text);
        Assert.True(exitCode == 0, $"prometheus_client could not parse the exposition:\n{error}\n---\n{text}");
        return JsonNode.Parse(output)!.AsArray();
    }

    private static async Task EnsureInstalledAsync()
    {
        await InstallLock.WaitAsync();
        try
        {
            if (await IsInstalledAsync())
            {
                return;
            }
            var how = $"install it with: apt-get install -y {Package} (tests/run-tests.sh should do this up front)";
            if (!Environment.IsPrivilegedProcess || !File.Exists("/usr/bin/apt-get"))
            {
                Assert.Fail($"{Python} cannot import prometheus_client; {how}");
            }
            var (exitCode, _, error) = await RunAsync("/usr/bin/apt-get", ["install", "-y", "-q", Package], null);
            if (exitCode != 0)
            {
                // A fresh machine may have no package lists yet.
                await RunAsync("/usr/bin/apt-get", ["update", "-q"], null);
                (exitCode, _, error) = await RunAsync("/usr/bin/apt-get", ["install", "-y", "-q", Package], null);
            }
            Assert.True(exitCode == 0 && await IsInstalledAsync(), $"installing {Package} failed ({error.Trim()}); {how}");
        }
        finally
        {
            InstallLock.Release();
        }
    }

    private static async Task<bool> IsInstalledAsync() =>
        File.Exists(Python) && (await RunAsync(Python, ["-c", "import prometheus_client"], null)).ExitCode == 0;

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(string file, string[] arguments, string? input)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
        }
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }
}
