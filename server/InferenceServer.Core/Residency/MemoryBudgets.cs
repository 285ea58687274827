namespace InferenceServer.Core.Residency;

/// <summary>
/// The budgets in force, in bytes: CPU memory (<c>--model-memory-budget</c>) and device memory per GPU
/// (<c>--gpu-memory-budget</c>); a resource without a budget is not limited.
/// </summary>
/// <param name="CpuBytes">The CPU budget; null when there is none.</param>
/// <param name="GpuBytes">The budget of each GPU that has one, by CUDA ordinal.</param>
internal sealed record MemoryBudgets(long? CpuBytes, IReadOnlyDictionary<int, long> GpuBytes)
{
    /// <summary>No budget at all: loads are never refused for memory, nothing is evicted.</summary>
    public static readonly MemoryBudgets None = new(null, new Dictionary<int, long>());

    /// <summary>True when any budget is set.</summary>
    public bool Any => CpuBytes is not null || GpuBytes.Count > 0;
}
