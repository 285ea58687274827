using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using InferenceServer.FunctionalTests.Hosting;
using Xunit.Abstractions;

namespace InferenceServer.FunctionalTests.Hardening;

/// <summary>
/// The real <c>inference-server</c> process stopped under load: by SIGKILL (it must start again to ready over the same
/// repository, and answer as before) and by SIGTERM (every request it had accepted must be answered, and it must exit
/// cleanly). Timings are written to the test output; the only bound on them is the wait's patience.
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed partial class FaultInjectionTests(ITestOutputHelper output)
{
    private static readonly string[] FreePorts = ["--http-address", "127.0.0.1", "--http-port", "0", "--grpc-port", "0", "--metrics-port", "0"];

    private static readonly string IncomeRequest = File.ReadAllText(Path.Combine(RepositoryPaths.Models, "income", "example_request.json"));

    [Fact]
    public async Task Kill_9_under_load_then_restart_to_ready()
    {
        using var repository = new TestRepository().AddSample("income").AddSample("simple");
        string before;
        int answered;
        using (var first = ServerProcess.Start(["serve", "--model-repository", repository.Path, .. FreePorts]))
        {
            using var client = await first.HttpClientAsync();
            await first.WaitForOutputAsync(ReadyLine());
            before = await IncomeAsync(client);

            using var load = new Load(client, workers: 8);
            await load.WaitForAnswersAsync(200);
            first.KillHard();
            Assert.NotEqual(0, await first.WaitForExitAsync());
            answered = (await load.StopAsync()).Count(r => r.Ok);
        }

        var clock = Stopwatch.StartNew();
        using var second = ServerProcess.Start(["serve", "--model-repository", repository.Path, .. FreePorts]);
        using var restarted = await second.HttpClientAsync();
        var listening = clock.Elapsed;
        await second.WaitForOutputAsync(ReadyLine());
        var ready = clock.Elapsed;
        var after = await IncomeAsync(restarted);
        var firstAnswer = clock.Elapsed;

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"kill -9 after {answered} answered requests (8 workers); restart: listening {listening.TotalSeconds:F2} s, ready {ready.TotalSeconds:F2} s, first answer {firstAnswer.TotalSeconds:F2} s"));
        Assert.Equal(before, after);
    }

    [Fact]
    public async Task Sigterm_under_load_fails_no_request_in_flight()
    {
        using var repository = new TestRepository().AddSample("income").AddFixture("slow", "slow.onnx", Lifecycle.Lifecycle.SlowConfig);
        using var server = ServerProcess.Start(["serve", "--model-repository", repository.Path, "--exit-timeout-secs", "60", "--max-queue-wait-ms", "0", "--max-queue-batches", "0", .. FreePorts]);
        using var client = await server.HttpClientAsync();
        await server.WaitForOutputAsync(ReadyLine());

        // Slow requests of about 2 s each: surely still running when SIGTERM comes.
        var iterations = await CalibrateAsync(client, TimeSpan.FromSeconds(2));
        var slow = Enumerable.Range(0, 2).Select(_ => client.PostAsync("/v2/models/slow/infer", Json(Lifecycle.Lifecycle.SlowRequest(iterations)))).ToList();
        using var load = new Load(client, workers: 8);
        await load.WaitForAnswersAsync(200);
        Assert.All(slow, s => Assert.False(s.IsCompleted, "a slow request finished before SIGTERM"));

        var terminated = Stopwatch.GetTimestamp();
        server.Terminate();
        var slowAnswers = await Task.WhenAll(slow);
        var exitCode = await server.WaitForExitAsync();
        var exited = Stopwatch.GetElapsedTime(terminated);
        var results = await load.StopAsync();

        var inFlight = results.Where(r => r.Started < terminated).ToList();
        var failedInFlight = inFlight.Where(r => !r.Ok).ToList();
        var late = results.Where(r => r.Started >= terminated).ToList();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"SIGTERM with {inFlight.Count + slow.Count} requests sent before it ({slow.Count} slow ones of ~2 s): {failedInFlight.Count} failed; exited {exitCode} after {exited.TotalSeconds:F2} s; "
            + $"{late.Count} requests sent after SIGTERM: {string.Join(", ", late.GroupBy(r => r.Outcome).Select(g => $"{g.Key} x{g.Count()}"))}"));

        Assert.All(slowAnswers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        Assert.True(failedInFlight.Count == 0,
            $"{failedInFlight.Count} of {inFlight.Count} requests sent before SIGTERM failed: {string.Join("; ", failedInFlight.Take(5).Select(r => r.Outcome))}");
        Assert.Equal(0, exitCode);
        // Sent after SIGTERM: refused or told to go elsewhere, never a server error.
        Assert.DoesNotContain(late, r => r.Outcome.StartsWith('5') && r.Outcome != "503");
    }

    // The income answer, as text: the same model over the same files answers the same.
    private static async Task<string> IncomeAsync(HttpClient client)
    {
        var response = await client.PostAsync("/v2/models/income/infer", Json(IncomeRequest));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!["outputs"]![0]!["data"]!.ToJsonString();
    }

    // The slow model's iterations for about `target` on this machine now.
    private static async Task<long> CalibrateAsync(HttpClient client, TimeSpan target)
    {
        const long Probe = 100_000;
        var clock = Stopwatch.StartNew();
        var response = await client.PostAsync("/v2/models/slow/infer", Json(Lifecycle.Lifecycle.SlowRequest(Probe)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return Math.Max(Probe, (long)(Probe * target / clock.Elapsed));
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    [GeneratedRegex("Ready: serving")]
    private static partial Regex ReadyLine();

    /// <summary>Closed-loop workers sending income requests until stopped, each result kept with when it was sent.</summary>
    private sealed class Load : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Task<List<Result>>> _workers;
        private int _answers;

        public Load(HttpClient client, int workers) =>
            _workers = [.. Enumerable.Range(0, workers).Select(_ => Task.Run(() => WorkAsync(client)))];

        public async Task WaitForAnswersAsync(int count)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (Volatile.Read(ref _answers) < count)
            {
                Assert.True(DateTime.UtcNow < deadline, $"only {_answers} answers under load within 60 s");
                await Task.Delay(20);
            }
        }

        public async Task<List<Result>> StopAsync()
        {
            await _stop.CancelAsync();
            return [.. (await Task.WhenAll(_workers)).SelectMany(r => r)];
        }

        private async Task<List<Result>> WorkAsync(HttpClient client)
        {
            var results = new List<Result>();
            while (!_stop.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                string outcome;
                try
                {
                    // Not cancelled by the stop: a request sent is answered or fails on its own.
                    using var response = await client.PostAsync("/v2/models/income/infer", Json(IncomeRequest));
                    await response.Content.ReadAsByteArrayAsync();
                    outcome = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref _answers);
                    }
                }
                catch (HttpRequestException e)
                {
                    outcome = $"connection: {e.HttpRequestError}";
                    // The server is gone or going: one failure per worker is enough to record.
                    results.Add(new Result(started, outcome));
                    await Task.Delay(50);
                    continue;
                }
                results.Add(new Result(started, outcome));
            }
            return results;
        }

        public void Dispose()
        {
            _stop.Cancel();
            _stop.Dispose();
        }
    }

    private sealed record Result(long Started, string Outcome)
    {
        public bool Ok => Outcome == "200";
    }
}
