namespace InferenceServer.Core.Residency;

/// <summary>
/// The memory one loaded version holds, as charged against the budgets: CPU bytes (the process's resident growth across
/// the load) and device bytes per GPU ordinal (device memory used across the load).
/// </summary>
/// <remarks>
/// A load holds more CPU memory while it runs than once it has settled: ONNX Runtime reads the file into memory and
/// copies its weights out of it before it frees the read (about 0.6 times the file more, measured on 20 MB MLPs). That
/// transient is <see cref="CpuLoadPeakBytes"/>; the next load of the same files makes room for it, not only for what it
/// will hold, so that the process stays within the budget while it loads.
/// </remarks>
/// <param name="CpuBytes">Resident CPU memory.</param>
/// <param name="GpuBytes">Device memory by GPU ordinal; empty for a CPU-only version.</param>
/// <param name="Measured">True when measured across the load; false for an estimate made before it.</param>
internal sealed record VersionFootprint(long CpuBytes, IReadOnlyDictionary<int, long> GpuBytes, bool Measured)
{
    /// <summary>
    /// The most resident CPU memory the load added at any moment while it ran (its peak over the memory before it), at
    /// least <see cref="CpuBytes"/>; 0 where it was not measured (an estimate made from the files, or a system without a
    /// resident high-water mark), and then <see cref="CpuBytes"/> stands for it.
    /// </summary>
    public long CpuLoadPeakBytes { get; init; }

    /// <summary>The CPU memory a load of this footprint needs free before it starts: its peak while loading where known, else what it holds.</summary>
    public long CpuRoomBytes => Math.Max(CpuBytes, CpuLoadPeakBytes);

    private static readonly IReadOnlyDictionary<int, long> NoGpus = new Dictionary<int, long>();

    /// <summary>Nothing held: not measured yet, or released.</summary>
    public static readonly VersionFootprint None = new(0, NoGpus, false);

    /// <summary>A CPU-only footprint.</summary>
    public static VersionFootprint Cpu(long bytes, bool measured) => new(bytes, NoGpus, measured);

    /// <summary>The bytes held on GPU <paramref name="device"/>; 0 when none.</summary>
    public long Gpu(int device) => GpuBytes.TryGetValue(device, out var bytes) ? bytes : 0;
}
