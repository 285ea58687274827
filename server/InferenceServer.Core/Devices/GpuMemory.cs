namespace InferenceServer.Core.Devices;

/// <summary>A device's memory at one moment, in bytes.</summary>
public readonly record struct GpuMemory(long TotalBytes, long UsedBytes)
{
    /// <summary>What is not in use.</summary>
    public long FreeBytes => TotalBytes - UsedBytes;
}
