using Grpc.Net.Client;

namespace InferenceServer.Tests.Common;

/// <summary>Grpc.Net.Client channels to a test server: HTTP/2 with prior knowledge for <c>http://</c>, no message size limits of the client's own.</summary>
internal static class GrpcChannels
{
    public static GrpcChannel For(Uri address, Action<GrpcChannelOptions>? configure = null)
    {
        var options = new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
            // The server's limits are what the tests are about, not the client's.
            MaxReceiveMessageSize = null,
            MaxSendMessageSize = null,
        };
        configure?.Invoke(options);
        return GrpcChannel.ForAddress(address, options);
    }
}
