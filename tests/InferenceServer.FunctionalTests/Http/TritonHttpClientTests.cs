using System.Diagnostics;
using System.Text.Json.Nodes;

namespace InferenceServer.FunctionalTests.Http;

/// <summary>
/// Triton's Python HTTP client, emulated exactly with the standard library (Http/python/triton_http_cases.py, since
/// tritonclient cannot be installed here), sends gzip and deflate both ways, JSON and binary tensors, to a real server
/// that compresses every successful response a client accepts compressed, as Triton does. Each Python case is a test.
/// </summary>
public sealed class TritonHttpClientTests(TritonHttpClientTests.Suite suite) : IClassFixture<TritonHttpClientTests.Suite>
{
    private static readonly string[] Names =
    [
        .. from format in new[] { "json", "binary" }
           from request in new[] { "identity", "gzip", "deflate" }
           from response in new[] { "identity", "gzip", "deflate" }
           select $"{format}_request_{request}_response_{response}",
        "binary_outputs_by_default_gzip_both_ways",
        "bytes_tensors_deflate_both_ways",
        "errors_are_readable_uncompressed_when_compression_was_asked",
        "unknown_request_coding_is_415_with_accept_encoding",
    ];

    public static TheoryData<string> Cases => new(Names);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Case(string name)
    {
        Assert.True(suite.Results.TryGetValue(name, out var failure), $"the Python cases have no '{name}'; they have: {string.Join(", ", suite.Results.Keys)}\n{suite.Log}");
        Assert.True(failure is null, $"case '{name}' failed:\n{failure}");
    }

    [Fact]
    public void EveryPythonCaseIsATestHere() =>
        Assert.Equal(Names.Order(StringComparer.Ordinal), suite.Results.Keys.Order(StringComparer.Ordinal));

    /// <summary>The sample models on a server with no minimum size for compressed responses; the cases run once.</summary>
    public sealed class Suite : TestServerFixture
    {
        private const string Python = "/usr/bin/python3";

        /// <summary>Each case's failure text, null when it passed.</summary>
        public Dictionary<string, string?> Results { get; } = [];

        /// <summary>The script's progress log, for context when a case is missing.</summary>
        public string Log { get; private set; } = "";

        protected override (string Key, string Value)[] Settings => [("Http:ResponseCompressionMinimumBytes", "0")];

        private protected override void Populate(TestRepository repository) => repository.AddSample("simple").AddSample("text_upper");

        private protected override async Task OnStartedAsync(RunningServer server)
        {
            var resultsFile = Path.Combine(Path.GetTempPath(), $"triton-http-cases-{Guid.NewGuid():N}.json");
            try
            {
                var script = Path.Combine(RepositoryPaths.Root, "tests", "InferenceServer.FunctionalTests", "Http", "python", "triton_http_cases.py");
                var start = new ProcessStartInfo(Python)
                {
                    ArgumentList = { script, "--url", server.Host.HttpAddress.ToString().TrimEnd('/'), "--results", resultsFile },
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    UseShellExecute = false,
                };
                // Standard library only: nothing from a developer's Python set-up, and no __pycache__ in the tree.
                start.Environment.Remove("PYTHONPATH");
                start.Environment.Remove("PYTHONHOME");
                start.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
                using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {Python}");
                var output = process.StandardOutput.ReadToEndAsync();
                var error = process.StandardError.ReadToEndAsync();
                using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
                try
                {
                    await process.WaitForExitAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    process.Kill(entireProcessTree: true);
                    throw new TimeoutException($"the Python HTTP cases ran for more than 3 minutes:\n{await error}");
                }
                Log = await error + await output;
                if (process.ExitCode != 0 || !File.Exists(resultsFile))
                {
                    throw new InvalidOperationException($"the Python HTTP cases did not run (exit code {process.ExitCode}):\n{Log}");
                }
                foreach (var entry in JsonNode.Parse(await File.ReadAllTextAsync(resultsFile))!["cases"]!.AsArray())
                {
                    Results[entry!["name"]!.GetValue<string>()] = entry["passed"]!.GetValue<bool>() ? null : entry["failure"]?.GetValue<string>();
                }
            }
            finally
            {
                File.Delete(resultsFile);
            }
        }
    }
}
