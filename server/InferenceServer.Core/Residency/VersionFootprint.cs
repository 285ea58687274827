namespace InferenceServer.Core.Residency;

/// <summary>
/// The memory one loaded version holds, as charged against the budgets: CPU bytes (the process's resident growth across
/// the load) and device bytes per GPU ordinal (device memory used across the load).
/// </summary>
/// <param name="CpuBytes">Resident CPU memory.</param>
/// <param name="GpuBytes">Device memory by GPU ordinal; empty for a CPU-only version.</param>
/// <param name="Measured">True when measured across the load; false for an estimate made before it.</param>
internal sealed record VersionFootprint(long CpuBytes, IReadOnlyDictionary<int, long> GpuBytes, bool Measured)
{
    private static readonly IReadOnlyDictionary<int, long> NoGpus = new Dictionary<int, long>();

    /// <summary>Nothing held: not measured yet, or released.</summary>
    public static readonly VersionFootprint None = new(0, NoGpus, false);

    /// <summary>A CPU-only footprint.</summary>
    public static VersionFootprint Cpu(long bytes, bool measured) => new(bytes, NoGpus, measured);

    /// <summary>The bytes held on GPU <paramref name="device"/>; 0 when none.</summary>
    public long Gpu(int device) => GpuBytes.TryGetValue(device, out var bytes) ? bytes : 0;
}
