using System.Globalization;

namespace InferenceServer.Protocols.Metrics;

/// <summary>Settings of the Prometheus endpoint (configuration section <c>Metrics</c>).</summary>
public sealed class MetricsOptions
{
    /// <summary><c>--allow-metrics</c>.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary><c>--metrics-address</c>; null: the HTTP address, as in Triton.</summary>
    public string? Address { get; set; }

    /// <summary><c>--metrics-port</c>; 0 picks a free port.</summary>
    public int Port { get; set; } = 8002;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that is out of range.</summary>
    public void Validate()
    {
        if (Port is < 0 or > 65535)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Metrics:Port {Port} is not valid; expected 0 to 65535"));
        }
    }
}
