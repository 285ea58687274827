using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace InferenceServer.Protocols;

/// <summary>
/// The server's ports, each its own Kestrel endpoint. Every connection is marked with the port it was accepted on, so
/// each front-end answers its own port only: the REST middleware (compression, error bodies) and routes, the gRPC
/// services, and <c>/metrics</c>.
/// </summary>
public enum ServerPort
{
    /// <summary>KServe v2 REST (8000 by default).</summary>
    Rest,

    /// <summary>KServe v2 gRPC (8001 by default).</summary>
    Grpc,

    /// <summary>Prometheus metrics (8002 by default).</summary>
    Metrics,
}

/// <summary>Marks connections with their <see cref="ServerPort"/>, and reads the mark back.</summary>
public static class ServerPorts
{
    /// <summary>Marks every connection <paramref name="listen"/> accepts as arriving on <paramref name="port"/>.</summary>
    public static ListenOptions MarkAs(this ListenOptions listen, ServerPort port)
    {
        var mark = PortFeature.Of(port);
        listen.Use(next => connection =>
        {
            connection.Features.Set(mark);
            return next(connection);
        });
        return listen;
    }

    /// <summary>Whether <paramref name="context"/>'s connection was accepted on <paramref name="port"/>.</summary>
    public static bool ArrivedOn(this HttpContext context, ServerPort port) => context.Features.Get<PortFeature>()?.Port == port;

    private sealed class PortFeature(ServerPort port)
    {
        private static readonly PortFeature[] Instances = [new(ServerPort.Rest), new(ServerPort.Grpc), new(ServerPort.Metrics)];

        public ServerPort Port { get; } = port;

        public static PortFeature Of(ServerPort port) => Instances[(int)port];
    }
}
