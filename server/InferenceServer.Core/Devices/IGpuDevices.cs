namespace InferenceServer.Core.Devices;

/// <summary>
/// The GPUs this server can see, and their memory and utilization read at the moment of asking. The memory budgets
/// measure a model's device memory across its load with it, and the metrics export it with Triton's names. The server
/// reads NVML where the driver provides it; without a GPU (or without NVML) the list is empty; tests script a fake one.
/// </summary>
public interface IGpuDevices
{
    /// <summary>The devices by CUDA ordinal; empty where there is no GPU or no way to read one.</summary>
    IReadOnlyList<GpuDevice> Devices { get; }

    /// <summary>Reads device <paramref name="index"/>'s memory now; false when it cannot be read (no such device, a driver error).</summary>
    bool TryReadMemory(int index, out GpuMemory memory);

    /// <summary>Reads device <paramref name="index"/>'s utilization now, in [0, 1]; false when it cannot be read.</summary>
    bool TryReadUtilization(int index, out double utilization);
}
