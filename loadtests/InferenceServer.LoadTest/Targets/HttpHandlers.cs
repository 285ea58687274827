using System.Net;

namespace InferenceServer.LoadTest.Targets;

/// <summary>The HTTP/1.1 connection pool every REST request goes through.</summary>
internal static class HttpHandlers
{
    /// <param name="connections">Connections kept to the server; HTTP/1.1 carries one request at a time on each.</param>
    public static SocketsHttpHandler Create(int connections, TimeSpan connectTimeout) => new()
    {
        MaxConnectionsPerServer = Math.Max(1, connections),
        ConnectTimeout = connectTimeout,
        UseProxy = false,
        UseCookies = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
    };
}
