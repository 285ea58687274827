using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using InferenceServer.Grpc;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace InferenceServer.FunctionalTests.Grpc;

/// <summary>The gRPC layer on real Kestrel (HTTP/2 prior knowledge on loopback), called with hand-framed bodies.</summary>
public sealed class GrpcServerTests : IAsyncLifetime
{
    private WebApplication? _app;
    private HttpClient? _client;

    private HttpClient Client => _client!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Critical);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        _app = builder.Build();
        var registry = new GrpcServiceRegistry()
            .AddUnary("test.Echo", "Unary", (request, response, _) =>
            {
                response.WriteMessage(request);
                return ValueTask.CompletedTask;
            })
            .AddUnary("test.Echo", "Fail", (_, _, _) => throw new InvalidOperationException("secret detail"))
            .AddUnary("test.Echo", "NotFound", (_, _, _) => throw new GrpcStatusException(GrpcStatusCode.NotFound, "no such thing: 100%"))
            .AddUnary("test.Echo", "Slow", async (_, _, context) => await Task.Delay(Timeout.Infinite, context.CancellationToken))
            .AddDuplexStreaming("test.Echo", "Stream", async (requests, responses, _) =>
            {
                while (await requests.MoveNextAsync())
                {
                    responses.WriteMessage(requests.Current);
                    await responses.FlushAsync();
                }
            });
        _app.UseGrpc(registry, new GrpcServerOptions { MaxReceiveMessageSize = 2 * 1024 * 1024 });
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _client = new HttpClient
        {
            BaseAddress = new Uri(address),
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    public async Task DisposeAsync()
    {
        _client?.Dispose();
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    private static byte[] Frame(params byte[][] messages)
    {
        var frames = new List<byte>();
        foreach (var message in messages)
        {
            var prefix = new byte[5];
            BinaryPrimitives.WriteUInt32BigEndian(prefix.AsSpan(1), (uint)message.Length);
            frames.AddRange(prefix);
            frames.AddRange(message);
        }
        return [.. frames];
    }

    private static List<byte[]> Unframe(byte[] body)
    {
        var messages = new List<byte[]>();
        var offset = 0;
        while (offset < body.Length)
        {
            Assert.Equal(0, body[offset]);
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(offset + 1));
            messages.Add(body[(offset + 5)..(offset + 5 + length)]);
            offset += 5 + length;
        }
        return messages;
    }

    private async Task<(HttpResponseMessage Response, List<byte[]> Messages)> CallAsync(string path, byte[] body, string contentType = "application/grpc", string? timeout = null)
    {
        // The client's defaults apply to its helper methods only, so the message states HTTP/2 itself.
        var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new ByteArrayContent(body),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TryAddWithoutValidation("te", "trailers");
        if (timeout is not null)
        {
            request.Headers.TryAddWithoutValidation("grpc-timeout", timeout);
        }
        var response = await Client.SendAsync(request);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        return (response, response.StatusCode == HttpStatusCode.OK ? Unframe(bytes) : []);
    }

    // grpc-status comes in the trailers, or in the headers of a Trailers-Only response.
    private static (string? Status, string? Message) Status(HttpResponseMessage response)
    {
        static string? One(HttpHeaders headers, string name) => headers.TryGetValues(name, out var values) ? values.Single() : null;
        var status = One(response.TrailingHeaders, "grpc-status") ?? One(response.Headers, "grpc-status");
        var message = One(response.TrailingHeaders, "grpc-message") ?? One(response.Headers, "grpc-message");
        return (status, message);
    }

    [Fact]
    public async Task Unary_echo_answers_with_the_message_and_OK_in_trailers()
    {
        var (response, messages) = await CallAsync("/test.Echo/Unary", Frame([1, 2, 3]));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(new Version(2, 0), response.Version);
        Assert.Equal("application/grpc", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal([1, 2, 3], Assert.Single(messages));
        Assert.Equal("0", response.TrailingHeaders.GetValues("grpc-status").Single());
    }

    [Fact]
    public async Task A_message_bigger_than_the_flow_control_window_is_read()
    {
        var big = new byte[1_500_000];
        new Random(5).NextBytes(big);
        var (response, messages) = await CallAsync("/test.Echo/Unary", Frame(big));
        Assert.Equal(("0", null), Status(response));
        Assert.Equal(big, Assert.Single(messages));
    }

    [Fact]
    public async Task Streaming_echo_returns_every_message()
    {
        var (response, messages) = await CallAsync("/test.Echo/Stream", Frame([1], [], [2, 2], [3, 3, 3]));
        Assert.Equal(("0", null), Status(response));
        Assert.Equal([[1], [], [2, 2], [3, 3, 3]], messages);
    }

    [Fact]
    public async Task An_unknown_method_is_unimplemented()
    {
        var (response, messages) = await CallAsync("/test.Echo/Nope", Frame([1]));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(messages);
        Assert.Equal("12", Status(response).Status);
    }

    [Fact]
    public async Task A_non_grpc_content_type_is_415()
    {
        var (response, _) = await CallAsync("/test.Echo/Unary", Frame([1]), contentType: "application/json");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task An_oversize_message_is_resource_exhausted()
    {
        var (response, _) = await CallAsync("/test.Echo/Unary", Frame(new byte[2 * 1024 * 1024 + 1]));
        Assert.Equal("8", Status(response).Status);
    }

    [Fact]
    public async Task An_expired_deadline_is_deadline_exceeded()
    {
        var (response, _) = await CallAsync("/test.Echo/Slow", Frame([1]), timeout: "100m");
        Assert.Equal("4", Status(response).Status);
    }

    [Fact]
    public async Task A_malformed_timeout_is_internal()
    {
        var (response, _) = await CallAsync("/test.Echo/Unary", Frame([1]), timeout: "soon");
        Assert.Equal("13", Status(response).Status);
    }

    [Fact]
    public async Task A_status_exception_reaches_the_client_percent_encoded()
    {
        var (response, _) = await CallAsync("/test.Echo/NotFound", Frame([1]));
        Assert.Equal(("5", "no such thing: 100%25"), Status(response));
    }

    [Fact]
    public async Task A_failing_handler_is_internal_without_its_details_and_the_server_keeps_serving()
    {
        var (response, _) = await CallAsync("/test.Echo/Fail", Frame([1]));
        var (status, message) = Status(response);
        Assert.Equal("13", status);
        Assert.DoesNotContain("secret", message);
        var (again, messages) = await CallAsync("/test.Echo/Unary", Frame([7]));
        Assert.Equal("0", Status(again).Status);
        Assert.Equal([7], Assert.Single(messages));
    }
}
