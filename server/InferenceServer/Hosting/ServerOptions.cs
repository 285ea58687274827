using System.Globalization;
using InferenceServer.Core.Lifecycle;

namespace InferenceServer.Hosting;

/// <summary>
/// The <c>Server</c> section: the model lifecycle's settings (Core's <see cref="ModelLifecycleOptions"/>) and the host's
/// own, bound together once.
/// </summary>
internal sealed class ServerOptions : ModelLifecycleOptions
{
    /// <summary><c>--id</c>: the server's name in server metadata.</summary>
    public string Id { get; set; } = "inference-server";

    /// <summary><c>--exit-timeout-secs</c>: how long in-flight requests may take to finish on SIGTERM.</summary>
    public int ShutdownTimeoutSeconds { get; set; } = 30;

    /// <summary>glibc's mmap threshold, fixed so an unloaded model's memory goes back to the OS (<see cref="NativeAllocator"/>).</summary>
    public int NativeMmapThresholdBytes { get; set; } = NativeAllocator.DefaultMmapThresholdBytes;

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        if (Id.Length == 0)
        {
            throw new ArgumentException("Server:Id is empty; expected the server's name");
        }
        if (ShutdownTimeoutSeconds < 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Server:ShutdownTimeoutSeconds {ShutdownTimeoutSeconds} is not valid; expected 0 or more"));
        }
        if (NativeMmapThresholdBytes < 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Server:NativeMmapThresholdBytes {NativeMmapThresholdBytes} is not valid; expected 0 or more"));
        }
    }
}
