using Grpc.Net.Client;

namespace InferenceServer.LoadTest.Targets;

/// <summary>The Grpc.Net.Client channels the gRPC target and the metadata check go through.</summary>
internal static class GrpcChannels
{
    /// <summary>Largest response message read; a larger one fails its call with RESOURCE_EXHAUSTED.</summary>
    public const int MaxResponseMessageBytes = 64 * 1024 * 1024;

    /// <summary>
    /// A channel with its own HTTP/2 connection pool (prior knowledge for <c>http://</c>, ALPN for <c>https://</c>).
    /// Calls beyond a connection's stream limit (Kestrel's and Triton's default: 100) open another connection
    /// rather than queue for a stream.
    /// </summary>
    public static GrpcChannel Create(Uri address, TimeSpan connectTimeout) => GrpcChannel.ForAddress(address, new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = connectTimeout,
            UseProxy = false,
            UseCookies = false,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        },
        DisposeHttpClient = true,
        MaxReceiveMessageSize = MaxResponseMessageBytes,
        MaxSendMessageSize = null,
    });
}
