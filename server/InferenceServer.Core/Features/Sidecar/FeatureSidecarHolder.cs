using InferenceServer.Core.Monitoring;

namespace InferenceServer.Core.Features.Sidecar;

/// <summary>
/// The server's one sidecar client, or none without <c>--feature-sidecar</c>: a service that always exists, so the
/// feature stage can be built either way, and that closes the client's connections when the server stops.
/// </summary>
internal sealed class FeatureSidecarHolder : IAsyncDisposable
{
    public FeatureSidecarHolder(SidecarClient? client, FeatureMetrics? metrics)
    {
        Client = client;
        if (client is not null && metrics is not null)
        {
            // Each change reads the count anew, so changes that race still leave the gauge at the latest.
            client.ConnectionsChanged += _ => metrics.SidecarConnections(client.Connected);
            metrics.SidecarConnections(client.Connected);
        }
    }

    public SidecarClient? Client { get; }

    public ValueTask DisposeAsync() => Client?.DisposeAsync() ?? ValueTask.CompletedTask;
}
