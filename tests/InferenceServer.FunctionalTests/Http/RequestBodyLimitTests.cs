using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using InferenceServer.FunctionalTests.Hosting;
using InferenceServer.Protocols.Buffers;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceServer.FunctionalTests.Http;

/// <summary>
/// Request bodies and the server's memory: the bytes of bodies held at once are bounded by the body budget (a body
/// that finds no room waits briefly, then gets 503 with Retry-After), large bodies leave no memory behind once
/// answered, and an oversized body without Content-Length is reported with the size that arrived.
/// </summary>
public sealed class RequestBodyLimitTests
{
    private const int KiB = 1024;
    private const int MiB = 1024 * 1024;

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public async Task ABodyThatFindsNoRoomInTheBudgetWaitsThenGets503WithRetryAfterAndTheRoomComesBack()
    {
        using var repository = new TestRepository().AddSample("simple");
        await using var server = await RunningServer.StartAsync(repository.Path,
            ("Server:MaxRequestBodyBytesInFlight", Text(MiB)), ("Server:RequestBodyWaitMilliseconds", "300"), ("Http:MaxRequestBodyBytes", Text(MiB)));
        var budget = server.Host.Services.GetRequiredService<RequestBodyBudget>();
        using var slowClient = new HttpClient { BaseAddress = server.Host.HttpAddress };

        // A slow client has sent 800 KiB of a 900 KiB body and holds that much of the budget.
        var held = new HeldBodyContent(900 * KiB, 800 * KiB);
        var slow = slowClient.PostAsync("/v2/models/simple/infer", held);
        await WaitUntilAsync(() => budget.ReservedBytes >= 800 * KiB, "the slow body to hold its room");

        var refused = await server.Client.PostAsync("/v2/models/simple/infer", new ByteArrayContent(new byte[600 * KiB]));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        Assert.Contains("Server:MaxRequestBodyBytesInFlight", ErrorOf(await refused.Content.ReadAsStringAsync()));
        // Its body was left unread, so the connection closes, and says so: the next request goes on a new one.
        Assert.True(refused.Headers.ConnectionClose, "a refusal of an unread body says Connection: close");

        // The slow body arrives whole and is answered (it is not JSON); its room goes back to the budget.
        held.Release();
        Assert.Equal(HttpStatusCode.BadRequest, (await slow).StatusCode);
        Assert.Equal(0, budget.ReservedBytes);
        var served = await server.Client.PostAsync("/v2/models/simple/infer", new ByteArrayContent(new byte[600 * KiB]));
        Assert.Equal(HttpStatusCode.BadRequest, served.StatusCode);
        Assert.Equal(0, budget.ReservedBytes);
    }

    [Fact]
    public async Task AChunkedBodyOverTheLimitIsReportedWithTheSizeThatArrived()
    {
        using var repository = new TestRepository().AddSample("simple");
        await using var server = await RunningServer.StartAsync(repository.Path, ("Http:MaxRequestBodyBytes", "1000"));
        // The whole chunked body in one write, before the answer: HttpClient wrote its last chunk after the server had
        // answered 413 and closed, and then failed with a broken pipe instead of returning the answer (seen in CI).
        byte[] request =
        [
            .. Encoding.ASCII.GetBytes($"POST /v2/models/simple/infer HTTP/1.1\r\nHost: {server.Host.HttpAddress.Authority}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{5000:X}\r\n"),
            .. new byte[5000],
            .. "\r\n0\r\n\r\n"u8.ToArray(),
        ];

        var response = await RawHttp.SendExactAsync(server.Host.HttpAddress, request);

        Assert.Equal(413, response.Status);
        var error = ErrorOf(response.Text);
        Assert.StartsWith("request body exceeds the limit of 1000 bytes (Http:MaxRequestBodyBytes): ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("0+", error, StringComparison.Ordinal);
        Assert.Matches(@": (more than 1000|[0-9]{4,}) bytes (had )?arrived$", error);
    }

    [Fact]
    public async Task LargeBodiesLeaveNoMemoryBehindOnceAnswered()
    {
        const int BodyBytes = 200 * MiB;
        const int Bodies = 4;
        using var repository = new TestRepository().AddSample("simple");
        // A budget that lets all four in at once: what they cost is the point here.
        using var server = ServerProcess.Start(["serve", "--model-repository", repository.Path, "--http-address", "127.0.0.1", "--http-port", "0",
            "--grpc-port", "0", "--metrics-port", "0", "--max-body-bytes-in-flight", Text(Bodies * BodyBytes)]);
        using var client = await server.HttpClientAsync();
        client.Timeout = TimeSpan.FromMinutes(5);
        await server.WaitForOutputAsync(new System.Text.RegularExpressions.Regex("Ready: serving"));
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsync("/v2/models/simple/infer", new ByteArrayContent("not json"u8.ToArray()))).StatusCode);
        var baseline = server.ResidentBytes();

        // Not JSON: each is read whole, then refused.
        var body = new byte[BodyBytes];
        body.AsSpan().Fill((byte)'x');
        var answers = await Task.WhenAll(Enumerable.Range(0, Bodies).Select(_ => client.PostAsync("/v2/models/simple/infer", new ByteArrayContent(body))));
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.BadRequest, a.StatusCode));

        var growth = server.ResidentBytes() - baseline;
        // Each body was 200 MiB; a pooled buffer per body would have kept 800 MiB or more for good.
        Assert.True(growth < 200L * MiB, $"resident memory grew by {growth / MiB} MiB after {Bodies} bodies of {BodyBytes / MiB} MiB were answered (baseline {baseline / MiB} MiB)");
    }

    internal static string ErrorOf(string json) => JsonNode.Parse(json)!["error"]!.GetValue<string>();

    internal static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }
}
