using System.Diagnostics;
using System.Text.Json.Nodes;

namespace InferenceServer.FunctionalTests.Grpc;

/// <summary>
/// Runs the Python gRPC cases (Grpc/python/grpc_cases.py) against a running server with Debian's python3-grpcio,
/// python3-protobuf and python3-numpy under /usr/bin/python3 (the python3 on PATH may be another one), installing them
/// when they are missing and the tests run as root. Their message classes come from grpc/inference.desc, the
/// descriptor set the build writes next to this assembly from the server's .proto files.
/// </summary>
internal static class GrpcPythonClient
{
    private const string Python = "/usr/bin/python3";
    private static readonly string[] Packages = ["python3-grpcio", "python3-protobuf", "python3-numpy"];
    private static readonly SemaphoreSlim InstallLock = new(1, 1);

    public static string ScriptDirectory { get; } = Path.Combine(RepositoryPaths.Root, "tests", "InferenceServer.FunctionalTests", "Grpc", "python");

    public static string DescriptorSet { get; } = Path.Combine(AppContext.BaseDirectory, "grpc", "inference.desc");

    /// <summary>Runs every case of <paramref name="suite"/> against <paramref name="server"/>; answers the results by case name.</summary>
    public static async Task<GrpcSuiteResults> RunSuiteAsync(string suite, RunningServer server)
    {
        await EnsureInstalledAsync();
        if (!File.Exists(DescriptorSet))
        {
            throw new InvalidOperationException($"{DescriptorSet} is missing; the test project's build writes it with Grpc.Tools' protoc (target WriteGrpcDescriptorSet)");
        }
        var resultsFile = Path.Combine(Path.GetTempPath(), $"grpc-cases-{suite}-{Guid.NewGuid():N}.json");
        try
        {
            var grpc = server.Host.GrpcAddress;
            var (exitCode, output, error) = await RunAsync(Python,
            [
                Path.Combine(ScriptDirectory, "grpc_cases.py"),
                "--descriptors", DescriptorSet,
                "--target", $"{grpc.Host}:{grpc.Port}",
                "--metrics", new Uri(server.Host.MetricsAddress, "/metrics").ToString(),
                "--suite", suite,
                "--results", resultsFile,
            ], TimeSpan.FromMinutes(5));
            if (exitCode != 0 || !File.Exists(resultsFile))
            {
                throw new InvalidOperationException($"the Python gRPC cases of suite '{suite}' did not run (exit code {exitCode}):\n{error}\n{output}");
            }
            var cases = JsonNode.Parse(await File.ReadAllTextAsync(resultsFile))!["cases"]!.AsArray();
            var results = new Dictionary<string, GrpcCaseResult>();
            foreach (var entry in cases)
            {
                var name = entry!["name"]!.GetValue<string>();
                results[name] = new GrpcCaseResult(name, entry["passed"]!.GetValue<bool>(), entry["failure"]?.GetValue<string>(), entry["seconds"]!.GetValue<double>());
            }
            return new GrpcSuiteResults(suite, results, error);
        }
        finally
        {
            File.Delete(resultsFile);
        }
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
            var how = $"install them with: apt-get install -y {string.Join(' ', Packages)} (tests/run-tests.sh does this up front)";
            if (!Environment.IsPrivilegedProcess || !File.Exists("/usr/bin/apt-get"))
            {
                throw new InvalidOperationException($"{Python} cannot import grpc, google.protobuf and numpy; {how}");
            }
            var (exitCode, _, error) = await RunAsync("/usr/bin/apt-get", ["install", "-y", "-q", .. Packages], TimeSpan.FromMinutes(10));
            if (exitCode != 0)
            {
                // A fresh machine may have no package lists yet.
                await RunAsync("/usr/bin/apt-get", ["update", "-q"], TimeSpan.FromMinutes(10));
                (exitCode, _, error) = await RunAsync("/usr/bin/apt-get", ["install", "-y", "-q", .. Packages], TimeSpan.FromMinutes(10));
            }
            if (exitCode != 0 || !await IsInstalledAsync())
            {
                throw new InvalidOperationException($"installing {string.Join(' ', Packages)} failed ({error.Trim()}); {how}");
            }
        }
        finally
        {
            InstallLock.Release();
        }
    }

    private static async Task<bool> IsInstalledAsync() =>
        File.Exists(Python) && (await RunAsync(Python, ["-c", "import grpc, google.protobuf, numpy"], TimeSpan.FromMinutes(1))).ExitCode == 0;

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(string file, string[] arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = ScriptDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        // Nothing from a developer's Python set-up, and no __pycache__ in the source tree.
        start.Environment.Remove("PYTHONPATH");
        start.Environment.Remove("PYTHONHOME");
        start.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', arguments)} ran for more than {timeout}:\n{await error}");
        }
        return (process.ExitCode, await output, await error);
    }
}
