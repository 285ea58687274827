using System.Net;
using Grpc.AspNetCore.Server.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace InferenceServer.LoadTest.Ceiling;

/// <summary>
/// A server that does nothing: it answers every v2 infer request (REST on an HTTP/1.1 port, gRPC ModelInfer on an
/// HTTP/2 port) at once with a tiny fixed response, after reading the request. Load against it measures what the
/// generator itself can push through the same client code, request bodies and protocol — the ceiling above which
/// a measurement says more about the generator than about the server.
/// </summary>
internal sealed class TrivialEndpoint : IAsyncDisposable
{
    private static readonly byte[] RestResponse = """{"model_name":"trivial","model_version":"1","outputs":[]}"""u8.ToArray();
    private readonly WebApplication _app;

    private TrivialEndpoint(WebApplication app, Uri http, Uri grpc)
    {
        _app = app;
        HttpAddress = http;
        GrpcAddress = grpc;
    }

    /// <summary>The REST endpoint (HTTP/1.1).</summary>
    public Uri HttpAddress { get; }

    /// <summary>The gRPC endpoint (HTTP/2 cleartext).</summary>
    public Uri GrpcAddress { get; }

    /// <summary>Starts on <paramref name="address"/>; port 0 picks free ports, otherwise REST gets <paramref name="port"/> and gRPC the next.</summary>
    public static async Task<TrivialEndpoint> StartAsync(IPAddress address, int port = 0, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.Http2.MaxStreamsPerConnection = 1000;
            kestrel.Listen(address, port, listen => listen.Protocols = HttpProtocols.Http1);
            kestrel.Listen(address, port == 0 ? 0 : port + 1, listen => listen.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddGrpc(grpc => grpc.MaxReceiveMessageSize = 256 * 1024 * 1024);
        builder.Services.AddSingleton<TrivialGrpcService>();
        builder.Services.AddSingleton<IServiceMethodProvider<TrivialGrpcService>, TrivialGrpcMethodProvider>();
        var app = builder.Build();
        app.MapGrpcService<TrivialGrpcService>();
        // An endpoint rather than terminal middleware, so the gRPC endpoint above is reached too.
        app.MapFallback(static async context =>
        {
            var request = context.Request;
            if (!HttpMethods.IsPost(request.Method) || !(request.Path.Value ?? "").EndsWith("/infer", StringComparison.Ordinal))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            // Read the body as a real server would, so the client's send cost is all counted.
            var reader = request.BodyReader;
            while (true)
            {
                var result = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = RestResponse.Length;
            await context.Response.Body.WriteAsync(RestResponse, context.RequestAborted).ConfigureAwait(false);
        });
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();
        // Kestrel lists the endpoints in the order they were configured.
        var http = new Uri(Loopback(addresses[0]));
        var grpc = new Uri(Loopback(addresses[1]));
        return new TrivialEndpoint(app, http, grpc);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private static string Loopback(string address) =>
        address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "[::1]", StringComparison.Ordinal);
}
