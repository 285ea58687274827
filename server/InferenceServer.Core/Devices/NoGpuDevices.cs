namespace InferenceServer.Core.Devices;

/// <summary>A machine with no GPU the server can read: no devices, nothing to measure.</summary>
public sealed class NoGpuDevices : IGpuDevices
{
    /// <summary>The one instance; it holds nothing.</summary>
    public static NoGpuDevices Instance { get; } = new();

    /// <inheritdoc/>
    public IReadOnlyList<GpuDevice> Devices => [];

    /// <inheritdoc/>
    public bool TryReadMemory(int index, out GpuMemory memory)
    {
        memory = default;
        return false;
    }

    /// <inheritdoc/>
    public bool TryReadUtilization(int index, out double utilization)
    {
        utilization = 0;
        return false;
    }
}
