using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace InferenceServer.LoadTest.Tests.Functional;

/// <summary>
/// <c>loadtest --models</c> as a user runs it, against a fake KServe v2 server on real Kestrel that answers as an
/// on-demand server does: <c>warm</c> at once, <c>cold</c> with <c>Inference-Cold-Start-Ms</c> (it waited for a load),
/// <c>busy</c> with 503 and <c>Retry-After</c> (its cold start missed the deadline). The report must split them.
/// </summary>
public sealed class ManyModelsRunTests : IAsyncLifetime, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("loadtest-models-").FullName;
    private WebApplication? _server;
    private Uri? _address;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        _server = builder.Build();
        _server.MapGet("/v2/health/live", () => Results.Ok());
        _server.MapPost("/v2/models/{name}/infer", async (string name, HttpContext context) =>
        {
            // Read as a server would, so the client's connection stays in a clean state.
            await context.Request.Body.CopyToAsync(Stream.Null);
            switch (name)
            {
                case "cold":
                    context.Response.Headers["Inference-Cold-Start-Ms"] = "250";
                    break;
                case "busy":
                    context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                    context.Response.Headers.RetryAfter = "1";
                    await context.Response.WriteAsync("""{"error":"model 'busy' did not load within the cold-start deadline"}""");
                    return;
                case "warm":
                    break;
                default:
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    await context.Response.WriteAsync("""{"error":"unknown model"}""");
                    return;
            }
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"model_name":"m","outputs":[{"name":"OUT","datatype":"FP32","shape":[1],"data":[1.0]}]}""");
        });
        await _server.StartAsync();
        _address = new Uri(_server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Warm_and_cold_requests_are_reported_apart_and_503s_counted_as_cold_start_deadline_misses()
    {
        var input = Path.Combine(_folder, "request.jsonl");
        await File.WriteAllTextAsync(input, """{"inputs":[{"name":"IN","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}]}""" + "\n");
        var json = Path.Combine(_folder, "r.json");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exitCode = await new LoadTestApp(stdout, stderr, TimeProvider.System, terminal: false).RunAsync(
            ["--url", _address!.ToString(), "--models", "warm,cold,busy", "--input", input, "--concurrency", "3", "--duration", "1s", "--warmup", "0s", "--json", json],
            CancellationToken.None);

        var output = stdout.ToString();
        Assert.True(exitCode == 0, output + stderr);
        using var document = JsonDocument.Parse(await File.ReadAllBytesAsync(json));
        var run = Assert.Single(document.RootElement.GetProperty("runs").EnumerateArray());
        Assert.Equal(3, run.GetProperty("target").GetProperty("models").GetInt32());
        Assert.Equal("uniform", run.GetProperty("target").GetProperty("modelDistribution").GetString());
        var models = run.GetProperty("models");
        var perModel = models.GetProperty("perModel").EnumerateArray().ToDictionary(m => m.GetProperty("name").GetString()!);
        Assert.Equal(["warm", "cold", "busy"], perModel.Keys);
        long Count(string model, string field) => perModel[model].GetProperty(field).GetInt64();

        // Every request of a model is what that model answers; the counts add up to the run's.
        Assert.True(Count("warm", "requests") > 0 && Count("cold", "requests") > 0 && Count("busy", "requests") > 0, models.ToString());
        Assert.Equal(Count("warm", "requests"), Count("warm", "successes"));
        Assert.Equal(0, Count("warm", "coldStarts"));
        Assert.Equal(Count("cold", "requests"), Count("cold", "coldStarts"));
        Assert.Equal(Count("busy", "requests"), Count("busy", "errors"));
        Assert.Equal(run.GetProperty("summary").GetProperty("sent").GetInt64(), perModel.Values.Sum(m => m.GetProperty("requests").GetInt64()));

        Assert.Equal(Count("warm", "successes"), models.GetProperty("warm").GetInt64());
        Assert.Equal(Count("warm", "successes"), models.GetProperty("warmLatencyMs").GetProperty("count").GetInt64());
        Assert.Equal(Count("cold", "successes"), models.GetProperty("coldStarts").GetInt64());
        Assert.Equal(Count("cold", "successes"), models.GetProperty("coldLatencyMs").GetProperty("count").GetInt64());
        Assert.Equal(Count("busy", "errors"), models.GetProperty("coldStartDeadlineMisses").GetInt64());
        var hitRate = Count("warm", "successes") / (double)(Count("warm", "successes") + Count("cold", "successes") + Count("busy", "errors"));
        // The report writes six decimals; compare within that rounding (rounding both to 5 places can straddle a boundary).
        Assert.Equal(hitRate, models.GetProperty("hitRate").GetDouble(), 0.5e-6);

        Assert.Contains("run 'run': 3 models (uniform) over rest-json", output, StringComparison.Ordinal);
        Assert.Contains($"cold-start deadline misses (503)", output, StringComparison.Ordinal);
        Assert.Contains("  warm         p50 ", output, StringComparison.Ordinal);
        Assert.Contains("  cold         p50 ", output, StringComparison.Ordinal);
        Assert.Contains("error        HTTP 503: ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_multi_model_run_with_generated_inputs_says_to_give_them_when_the_first_model_is_not_loaded()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exitCode = await new LoadTestApp(stdout, stderr, TimeProvider.System, terminal: false).RunAsync(
            ["--url", _address!.ToString(), "--models", "variant_{0..9}", "--concurrency", "1", "--duration", "1s"], CancellationToken.None);

        Assert.Equal(3, exitCode);
        Assert.Contains("give them with --input", stderr.ToString(), StringComparison.Ordinal);
    }
}
