using System.Net;
using System.Net.Sockets;
using System.Text;
using InferenceServer.Grpc;
using InferenceServer.Grpc.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace InferenceServer.LoadTest.Tests.Grpc;

/// <summary>Our gRPC client against the gRPC server layer on real Kestrel (HTTP/2 cleartext, prior knowledge, loopback).</summary>
public sealed class GrpcClientTests : IAsyncLifetime
{
    private WebApplication? _app;
    private Uri? _address;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        _app = builder.Build();
        var registry = new GrpcServiceRegistry()
            .AddUnary("test.Echo", "Unary", (request, response, _) =>
            {
                response.WriteMessage(request);
                return ValueTask.CompletedTask;
            })
            .AddUnary("test.Echo", "Timeout", (_, response, context) =>
            {
                response.WriteMessage(Encoding.ASCII.GetBytes(context.Timeout is { } t ? t.TotalMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture) : "none"));
                return ValueTask.CompletedTask;
            })
            .AddUnary("test.Echo", "NotFound", (_, _, _) => throw new GrpcStatusException(GrpcStatusCode.NotFound, "no model 'x' (100% sure)"))
            .AddUnary("test.Echo", "Late", async (_, response, context) =>
            {
                response.WriteMessage([1]);
                await response.FlushAsync();
                throw new GrpcStatusException(GrpcStatusCode.Aborted, "gave up after answering");
            })
            .AddUnary("test.Echo", "Empty", (_, response, _) =>
            {
                response.WriteMessage(ReadOnlySpan<byte>.Empty);
                return ValueTask.CompletedTask;
            });
        _app.UseGrpc(registry);
        // Not gRPC: what a proxy or a plain web server would answer.
        _app.Run(context =>
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return Task.CompletedTask;
        });
        await _app.StartAsync();
        _address = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_unary_call_returns_the_response_message_and_OK()
    {
        using var client = new GrpcClient(_address!);
        var payload = new byte[100_000];
        new Random(1).NextBytes(payload);

        var result = await client.UnaryAsync("/test.Echo/Unary", GrpcClient.Frame(payload));

        Assert.True(result.IsOk, result.Message);
        Assert.Equal(payload, result.Response.ToArray());
    }

    [Fact]
    public async Task Many_concurrent_calls_share_a_few_connections()
    {
        using var client = new GrpcClient(_address!, new GrpcClientOptions { Connections = 3 });
        var results = await Task.WhenAll(Enumerable.Range(0, 300).Select(async i =>
        {
            var result = await client.UnaryAsync("/test.Echo/Unary", GrpcClient.Frame(BitConverter.GetBytes(i)));
            return BitConverter.ToInt32(result.Response.Span);
        }));
        Assert.Equal(Enumerable.Range(0, 300), results);
    }

    [Fact]
    public async Task The_response_can_be_read_and_dropped()
    {
        using var client = new GrpcClient(_address!);
        var result = await client.UnaryAsync("/test.Echo/Unary", GrpcClient.Frame([1, 2, 3]), keepResponse: false);
        Assert.True(result.IsOk);
        Assert.True(result.Response.IsEmpty);
    }

    [Fact]
    public async Task An_empty_response_message_is_a_message()
    {
        using var client = new GrpcClient(_address!);
        var result = await client.UnaryAsync("/test.Echo/Empty", GrpcClient.Frame([]));
        Assert.True(result.IsOk, result.Message);
        Assert.True(result.Response.IsEmpty);
    }

    [Fact]
    public async Task A_status_in_trailers_only_is_returned_with_its_decoded_message()
    {
        using var client = new GrpcClient(_address!);
        var result = await client.UnaryAsync("/test.Echo/NotFound", GrpcClient.Frame([1]));
        Assert.Equal(GrpcStatusCode.NotFound, result.Status);
        Assert.Equal("no model 'x' (100% sure)", result.Message);
    }

    [Fact]
    public async Task A_status_after_a_message_comes_from_the_trailers()
    {
        using var client = new GrpcClient(_address!);
        var result = await client.UnaryAsync("/test.Echo/Late", GrpcClient.Frame([1]));
        Assert.Equal(GrpcStatusCode.Aborted, result.Status);
        Assert.Equal("gave up after answering", result.Message);
    }

    [Fact]
    public async Task An_unknown_method_is_unimplemented()
    {
        using var client = new GrpcClient(_address!);
        var result = await client.UnaryAsync("/test.Echo/Nope", GrpcClient.Frame([1]));
        Assert.Equal(GrpcStatusCode.Unimplemented, result.Status);
    }

    [Fact]
    public async Task The_timeout_travels_as_grpc_timeout()
    {
        using var client = new GrpcClient(_address!);
        var with = await client.UnaryAsync("/test.Echo/Timeout", GrpcClient.Frame([]), TimeSpan.FromMilliseconds(1500));
        var without = await client.UnaryAsync("/test.Echo/Timeout", GrpcClient.Frame([]));
        Assert.Equal("1500", Encoding.ASCII.GetString(with.Response.Span));
        Assert.Equal("none", Encoding.ASCII.GetString(without.Response.Span));
    }

    [Fact]
    public async Task A_non_grpc_answer_maps_its_http_status_to_a_grpc_status()
    {
        // POST with a gRPC content type to a path the registry does not know answers UNIMPLEMENTED inside gRPC;
        // a plain 503 from something that is not gRPC at all maps to UNAVAILABLE.
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        await using var plain = builder.Build();
        plain.Run(context =>
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return Task.CompletedTask;
        });
        await plain.StartAsync();
        using var client = new GrpcClient(new Uri(plain.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()));

        var result = await client.UnaryAsync("/test.Echo/Unary", GrpcClient.Frame([1]));

        Assert.Equal(GrpcStatusCode.Unavailable, result.Status);
        Assert.Contains("503", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_connection_throws_the_transport_error()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var client = new GrpcClient(new Uri($"http://127.0.0.1:{port}"));

        await Assert.ThrowsAsync<HttpRequestException>(() => client.UnaryAsync("/test.Echo/Unary", GrpcClient.Frame([1])).AsTask());
    }

    [Fact]
    public void Frame_prefixes_an_uncompressed_flag_and_a_big_endian_length() =>
        Assert.Equal([0, 0, 0, 1, 2, 7, 7, 7], GrpcClient.Frame([.. Enumerable.Repeat((byte)7, 258)]).AsSpan(0, 8).ToArray());
}
