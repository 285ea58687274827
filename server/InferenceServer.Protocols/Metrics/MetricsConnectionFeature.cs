namespace InferenceServer.Protocols.Metrics;

/// <summary>Marks a connection accepted on the metrics endpoint, so its requests are answered by the metrics middleware alone.</summary>
internal sealed class MetricsConnectionFeature
{
    public static readonly MetricsConnectionFeature Instance = new();

    private MetricsConnectionFeature()
    {
    }
}
