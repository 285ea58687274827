using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using InferenceServer.Cli;
using InferenceServer.FunctionalTests.Http;
using InferenceServer.Core.Serving;
using InferenceServer.Protocols.Http;

namespace InferenceServer.FunctionalTests.Hosting;

/// <summary>
/// The real <c>inference-server</c> executable in its own process: what its users see on the console (help, version,
/// one-line errors, the log formats) and its exit codes.
/// </summary>
public sealed partial class ExecutableTests
{
    // Every endpoint on loopback and a free port, so tests never collide.
    private static readonly string[] FreePorts = ["--http-address", "127.0.0.1", "--http-port", "0", "--grpc-port", "0", "--metrics-port", "0"];

    private const string CorruptConfig = "name: \"corrupt\"\nplatform: \"onnxruntime_onnx\"\nmax_batch_size: 0\n";

    [Fact]
    public async Task HelpListsEveryFlagWithItsDefault()
    {
        var (exitCode, process) = await ServerProcess.RunAsync("serve", "--help");
        using var _ = process;

        Assert.Equal(0, exitCode);
        var lines = process.Output;
        foreach (var flag in ServeFlags.All)
        {
            var line = lines.FirstOrDefault(l => l.TrimStart().StartsWith(flag.Name + " ", StringComparison.Ordinal) || l.TrimStart().StartsWith(flag.Name + ",", StringComparison.Ordinal));
            Assert.True(line is not null, $"--help does not list {flag.Name}");
            Assert.Contains($"[default: {flag.Default}]", line);
        }
        // Nothing listed that the table does not know (besides --help itself).
        var listed = lines.Where(l => l.StartsWith("  --", StringComparison.Ordinal)).ToList();
        Assert.Equal(ServeFlags.All.Count, listed.Count);
    }

    [Fact]
    public async Task VersionPrintsTheVersionServerMetadataReports()
    {
        var (exitCode, process) = await ServerProcess.RunAsync("--version");
        using var _ = process;

        Assert.Equal(0, exitCode);
        Assert.Equal([$"inference-server {new ServerInfo().Version}"], process.Output);
    }

    [Fact]
    public async Task NoCommandShowsTheHelpAsAUsageError()
    {
        var (exitCode, process) = await ServerProcess.RunAsync();
        using var _ = process;

        Assert.Equal(2, exitCode);
        Assert.Contains(process.Output, l => l.Contains("serve", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("unknown flag '--bogus' (see inference-server serve --help)", "serve", "--bogus", "1")]
    [InlineData("--backend-directory is a Triton flag for backend shared libraries, which is not supported", "serve", "--backend-directory", "/opt/tritonserver/backends")]
    [InlineData("--http-port: 'http' is not valid; expected a whole number from 0 to 65535", "serve", "--http-port", "http")]
    [InlineData("--allow-http: 'no' is not valid; expected true or false (also on/off, 1/0)", "serve", "--allow-http=no")]
    [InlineData("unknown command 'server'; the commands are serve, score, profile and quantize (see inference-server --help)", "server")]
    public async Task AUsageErrorIsOneLineAndExitCode2(string message, params string[] args)
    {
        var (exitCode, process) = await ServerProcess.RunAsync(args);
        using var _ = process;

        Assert.Equal(2, exitCode);
        Assert.Equal([$"inference-server: {message}"], process.Error);
        Assert.Empty(process.Output);
    }

    [Fact]
    public async Task ABadValueFromTheEnvironmentIsOneLineNamingTheKey()
    {
        using var process = ServerProcess.Start(["serve", .. FreePorts], new Dictionary<string, string> { ["Server__StrictReadiness"] = "maybe" });

        Assert.Equal(2, await process.WaitForExitAsync());
        Assert.Equal(["inference-server: bad setting: Server:StrictReadiness 'maybe' is not valid"], process.Error);
    }

    [Fact]
    public async Task AModelThatFailsAtStartupStopsTheServerWithExitCode1()
    {
        using var repository = new TestRepository()
            .AddSample("simple")
            .Add("corrupt", CorruptConfig, "this is not an onnx file"u8.ToArray());
        var (exitCode, process) = await ServerProcess.RunAsync(["serve", "--model-repository", repository.Path, .. FreePorts]);
        using var _ = process;

        Assert.Equal(1, exitCode);
        var error = Assert.Single(process.Error);
        Assert.StartsWith("inference-server: 1 startup model load(s) failed and --exit-on-error is on", error);
        Assert.Contains("'corrupt' version 1: failed to load 'corrupt/1/model.onnx'", error);
        Assert.DoesNotContain(repository.Path, error);
    }

    [Fact]
    public async Task ALoadModelThatIsInNoRepositoryStopsTheServerWithExitCode1()
    {
        using var repository = new TestRepository().AddSample("simple");
        var (exitCode, process) = await ServerProcess.RunAsync(
            ["serve", "--model-repository", repository.Path, "--model-control-mode", "explicit", "--load-model", "simple", "--load-model", "missing", .. FreePorts]);
        using var _ = process;

        Assert.Equal(1, exitCode);
        Assert.Equal(["inference-server: 1 startup model load(s) failed and --exit-on-error is on (set it to false to serve the rest): 'missing': not found in any model repository"],
            process.Error);
    }

    [Fact]
    public async Task WithoutExitOnErrorTheServerServesTheRestButIsNotReady()
    {
        using var repository = new TestRepository()
            .AddSample("simple")
            .Add("corrupt", CorruptConfig, "this is not an onnx file"u8.ToArray());
        using var process = ServerProcess.Start(["serve", "--model-repository", repository.Path, "--exit-on-error=false", .. FreePorts]);
        using var client = await process.HttpClientAsync();
        await process.WaitForOutputAsync(NotReadyLine());

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/v2/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v2/models/simple/ready")).StatusCode);
    }

    [Fact]
    public async Task APortThatIsTakenIsOneLineNamingIt()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var repository = new TestRepository().AddSample("simple");

        var (exitCode, process) = await ServerProcess.RunAsync(
            "serve", "--model-repository", repository.Path, "--http-address", "127.0.0.1", "--http-port", port, "--grpc-port", "0", "--metrics-port", "0");
        using var _ = process;

        Assert.Equal(1, exitCode);
        Assert.Equal([$"inference-server: HTTP port {port} is already in use"], process.Error);
        Assert.DoesNotContain(process.Output, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheAccessLogIsOneInfoLinePerRequestAndOnlyWhenAsked()
    {
        using var repository = new TestRepository().AddSample("simple");
        using (var quiet = ServerProcess.Start(["serve", "--model-repository", repository.Path, .. FreePorts]))
        {
            using var client = await quiet.HttpClientAsync();
            await quiet.WaitForOutputAsync(ReadyLine());
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v2/health/ready")).StatusCode);
            // The server logs its own lines after the request; none is an access log line.
            Assert.DoesNotContain(quiet.Output, l => l.Contains("HttpLogging", StringComparison.Ordinal));
        }

        using var process = ServerProcess.Start(["serve", "--model-repository", repository.Path, "--log-access", .. FreePorts]);
        using var logged = await process.HttpClientAsync();
        await process.WaitForOutputAsync(ReadyLine());
        var (response, _) = await logged.PostJsonAsync("/v2/models/simple/infer", SimpleRequest);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await logged.GetAsync("/v2/models/nope/ready")).StatusCode);

        var infer = await process.WaitForOutputAsync(AccessLine("POST", "/v2/models/simple/infer", 200));
        Assert.Contains(" info: Microsoft.AspNetCore.HttpLogging.HttpLoggingMiddleware", infer);
        await process.WaitForOutputAsync(AccessLine("GET", "/v2/models/nope/ready", 404));
    }

    [Fact]
    public async Task TheJsonConsoleFormatterIsChosenByTheStandardSetting()
    {
        using var repository = new TestRepository().AddSample("simple");
        using var process = ServerProcess.Start(["serve", "--model-repository", repository.Path, "--log-access", "--log-format", "ISO8601", .. FreePorts],
            new Dictionary<string, string> { ["Logging__Console__FormatterName"] = "json" });
        using var client = await process.HttpClientAsync();
        await process.WaitForOutputAsync(ReadyLine());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v2/health/ready")).StatusCode);
        await process.WaitForOutputAsync(JsonAccessLine());

        // Every line is one JSON object: the formatter's, with the ISO 8601 timestamp.
        var entries = process.Output.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.All(entries, e => Assert.Matches(Iso8601Timestamp(), e.GetProperty("Timestamp").GetString()!));
        var access = entries.Single(e => e.GetProperty("Category").GetString()!.Contains("HttpLogging", StringComparison.Ordinal));
        var state = access.GetProperty("State");
        Assert.Equal("Information", access.GetProperty("LogLevel").GetString());
        Assert.Equal("GET", state.GetProperty("Method").GetString());
        Assert.Equal("/v2/health/ready", state.GetProperty("Path").GetString());
        Assert.Equal(200, state.GetProperty("StatusCode").GetInt32());
        Assert.True(state.GetProperty("Duration").GetDouble() > 0);
        Assert.False(string.IsNullOrEmpty(state.GetProperty("RequestId").GetString()));
    }

    [Fact]
    public async Task TheLogFileTakesTheLogInsteadOfTheConsole()
    {
        using var repository = new TestRepository().AddSample("simple");
        var logFile = Path.Combine(repository.Path, "..", $"server-{Guid.NewGuid():N}.log");
        try
        {
            using var process = ServerProcess.Start(["serve", "--model-repository", repository.Path, "--log-file", logFile, "--log-format", "ISO8601", .. FreePorts]);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            string[] lines = [];
            while (!lines.Any(l => l.Contains("Ready: serving", StringComparison.Ordinal)))
            {
                Assert.True(DateTime.UtcNow < deadline, "the log file never said the server is ready");
                await Task.Delay(100);
                lines = File.Exists(logFile) ? ReadShared(logFile) : [];
            }

            Assert.Contains(lines, l => l.Contains("Loaded model 'simple' version 1", StringComparison.Ordinal));
            Assert.All(lines, l => Assert.Matches(Iso8601Line(), l));
            Assert.Empty(process.Output);
        }
        finally
        {
            File.Delete(logFile);
        }
    }

    private const string SimpleRequest = """
        {"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [1, 16], "data": [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]},
                    {"name": "INPUT1", "datatype": "INT32", "shape": [1, 16], "data": [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}]}
        """;

    // The server writes it while the test reads.
    private static string[] ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private static Regex AccessLine(string method, string path, int status) =>
        new($@"RequestId: \S+ Method: {method} PathBase: +Path: {Regex.Escape(path)} StatusCode: {status} Duration: \d+(\.\d+)?", RegexOptions.CultureInvariant);

    [GeneratedRegex(@"""Category"":""Microsoft\.AspNetCore\.HttpLogging\.HttpLoggingMiddleware""")]
    private static partial Regex JsonAccessLine();

    [GeneratedRegex("Ready: serving")]
    private static partial Regex ReadyLine();

    [GeneratedRegex("Serving, but not ready")]
    private static partial Regex NotReadyLine();

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")]
    private static partial Regex Iso8601Timestamp();

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (info|warn|fail|crit|dbug|trce): ")]
    private static partial Regex Iso8601Line();
}
