namespace InferenceServer.Core.Features.Sidecar;

/// <summary>
/// Where the feature sidecar listens and how the server talks to it (configuration section <c>FeatureSidecar</c>;
/// <c>--feature-sidecar PATH</c>). Without a path, feature views that read the online store refuse entity requests
/// (503 naming the missing flag) and raw records still work.
/// </summary>
public sealed class FeatureSidecarOptions
{
    /// <summary>The sidecar's Unix domain socket; null or empty: no sidecar.</summary>
    public string? Path { get; set; }

    /// <summary>Persistent connections to the sidecar: the first one up carries the lookups, multiplexed by id; the others stand by.</summary>
    public int Connections { get; set; } = 2;

    /// <summary>Lookups sent or queued and not yet answered, over every connection; beyond it a lookup is refused at once as overloaded.</summary>
    public int MaxPending { get; set; } = 4096;

    /// <summary>The first wait before reconnecting to a sidecar that went away, in milliseconds; it doubles up to <see cref="ReconnectMaxMilliseconds"/>.</summary>
    public int ReconnectMinMilliseconds { get; set; } = 20;

    /// <summary>The longest wait between attempts to reconnect, in milliseconds.</summary>
    public int ReconnectMaxMilliseconds { get; set; } = 1000;

    /// <summary>True when a sidecar is configured.</summary>
    public bool Enabled => !string.IsNullOrEmpty(Path);

    /// <summary>How the sidecar is named in errors and logs: <c>unix:/run/feature-sidecar.sock</c>.</summary>
    public string Address => "unix:" + Path;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (Connections is < 1 or > 64)
        {
            throw new ArgumentException($"FeatureSidecar:Connections must be from 1 to 64, not {Connections}");
        }
        if (MaxPending < 1)
        {
            throw new ArgumentException($"FeatureSidecar:MaxPending must be at least 1, not {MaxPending}");
        }
        if (ReconnectMinMilliseconds < 1 || ReconnectMaxMilliseconds < ReconnectMinMilliseconds)
        {
            throw new ArgumentException(
                $"FeatureSidecar:ReconnectMinMilliseconds must be at least 1 and ReconnectMaxMilliseconds at least as much, not {ReconnectMinMilliseconds} and {ReconnectMaxMilliseconds}");
        }
        if (Enabled && Path!.Length > 107)
        {
            // sockaddr_un's sun_path holds 108 bytes with the terminating zero.
            throw new ArgumentException($"FeatureSidecar:Path is {Path.Length} characters; a Unix socket path may have at most 107: '{Path}'");
        }
    }
}
