using System.Collections.Concurrent;

namespace InferenceServer.FunctionalTests.Grpc;

/// <summary>Sits under a gRPC channel and keeps one HTTP response header of every call, which the gRPC client does not show.</summary>
internal sealed class ResponseHeaderRecorder(string header) : DelegatingHandler(new SocketsHttpHandler())
{
    public ConcurrentQueue<string?> Values { get; } = new();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        Values.Enqueue(response.Headers.TryGetValues(header, out var values) ? string.Join(",", values) : null);
        return response;
    }
}
