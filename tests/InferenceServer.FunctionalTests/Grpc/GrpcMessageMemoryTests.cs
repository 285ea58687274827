using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using InferenceServer.FunctionalTests.Hosting;
using InferenceServer.FunctionalTests.Http;
using InferenceServer.Protocols.Buffers;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceServer.FunctionalTests.Grpc;

/// <summary>
/// gRPC request messages and the server's memory: a gzip bomb is stopped at the message limit and leaves nothing
/// behind, and a message that finds no room in the server's body budget is RESOURCE_EXHAUSTED naming it. The messages
/// are framed by hand (HTTP/2 with prior knowledge), so the client sends exactly the bytes the test means.
/// </summary>
public sealed partial class GrpcMessageMemoryTests
{
    private const int KiB = 1024;
    private const int MiB = 1024 * 1024;
    private const string ModelInfer = "/inference.GRPCInferenceService/ModelInfer";

    // 300 MiB of zeros, over the default 256 MiB message limit, in about 300 KB of gzip.
    private static readonly Lazy<byte[]> Bomb = new(() =>
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            var zeros = new byte[MiB];
            for (var i = 0; i < 300; i++)
            {
                gzip.Write(zeros);
            }
        }
        return compressed.ToArray();
    });

    [Fact]
    public async Task GzipBombsAreResourceExhaustedAndLeaveNoMemoryBehind()
    {
        using var repository = new TestRepository().AddSample("simple");
        using var server = ServerProcess.Start(["serve", "--model-repository", repository.Path, "--http-address", "127.0.0.1", "--http-port", "0",
            "--grpc-port", "0", "--metrics-port", "0"]);
        var line = await server.WaitForOutputAsync(GrpcListening());
        await server.WaitForOutputAsync(new Regex("Ready: serving"));
        using var grpc = Http2Client(new Uri($"http://127.0.0.1:{GrpcListening().Match(line).Groups[1].Value}"));
        Assert.Equal("3", await CallAsync(grpc, Frame([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], compressed: false)));
        var baseline = server.ResidentBytes();

        for (var round = 0; round < 4; round++)
        {
            // Two at a time: both fit the default body budget, so each is stopped by the message limit itself.
            var statuses = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => CallAsync(grpc, Frame(Bomb.Value, compressed: true), "gzip")));
            Assert.All(statuses, s => Assert.Equal("8", s));
        }

        Assert.False(server.HasExited);
        var growth = server.ResidentBytes() - baseline;
        Assert.True(growth < 200L * MiB, $"resident memory grew by {growth / MiB} MiB after 8 gzip bombs of 300 MiB each (baseline {baseline / MiB} MiB)");
    }

    [Fact]
    public async Task AMessageThatFindsNoRoomInTheBudgetIsResourceExhaustedAndTheRoomComesBack()
    {
        using var repository = new TestRepository().AddSample("simple");
        await using var server = await RunningServer.StartAsync(repository.Path,
            ("Server:MaxRequestBodyBytesInFlight", (MiB).ToString(CultureInfo.InvariantCulture)), ("Server:RequestBodyWaitMilliseconds", "300"));
        var budget = server.Host.Services.GetRequiredService<RequestBodyBudget>();
        using var grpc = Http2Client(server.Host.GrpcAddress);
        using var rest = new HttpClient { BaseAddress = server.Host.HttpAddress };
        // Not a valid request message: once it has room, decoding it fails.
        var message = Frame(new byte[600 * KiB], compressed: false);

        // A slow REST client holds 900 KiB of the 1 MiB budget.
        var held = new HeldBodyContent(900 * KiB, 800 * KiB);
        var slow = rest.PostAsync("/v2/models/simple/infer", held);
        await RequestBodyLimitTests.WaitUntilAsync(() => budget.ReservedBytes >= 800 * KiB, "the slow body to hold its room");

        var (status, detail) = await CallWithDetailAsync(grpc, message);
        Assert.Equal("8", status);
        Assert.Contains("Server:MaxRequestBodyBytesInFlight", detail, StringComparison.Ordinal);

        held.Release();
        Assert.Equal(HttpStatusCode.BadRequest, (await slow).StatusCode);
        Assert.Equal("3", await CallAsync(grpc, message));
        Assert.Equal(0, budget.ReservedBytes);
    }

    private static HttpClient Http2Client(Uri address) => new() { BaseAddress = address, Timeout = TimeSpan.FromMinutes(2) };

    private static byte[] Frame(byte[] payload, bool compressed)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = compressed ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }

    private static async Task<string> CallAsync(HttpClient client, byte[] frame, string? encoding = null) =>
        (await CallWithDetailAsync(client, frame, encoding)).Status;

    // The call's grpc-status and grpc-message, from the trailers or, for a call refused before any message, the headers.
    private static async Task<(string Status, string Detail)> CallWithDetailAsync(HttpClient client, byte[] frame, string? encoding = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, ModelInfer)
        {
            Content = new ByteArrayContent(frame),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        if (encoding is not null)
        {
            request.Headers.TryAddWithoutValidation("grpc-encoding", encoding);
        }
        using var response = await client.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        foreach (var headers in new HttpHeaders[] { response.TrailingHeaders, response.Headers })
        {
            if (headers.TryGetValues("grpc-status", out var status))
            {
                return (status.Single(), headers.TryGetValues("grpc-message", out var detail) ? Uri.UnescapeDataString(detail.Single()) : "");
            }
        }
        throw new InvalidOperationException($"no grpc-status in the answer ({(int)response.StatusCode})");
    }

    [GeneratedRegex(@"gRPC \(.*\) listening on http://127\.0\.0\.1:(\d+)")]
    private static partial Regex GrpcListening();
}
