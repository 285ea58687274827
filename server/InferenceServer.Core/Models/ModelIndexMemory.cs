namespace InferenceServer.Core.Models;

/// <summary>
/// What a loaded version holds, as the repository index shows it, with the budget it counts against and what is left
/// of it (the headroom is the server's, the same on every row).
/// </summary>
/// <param name="CpuBytes">The CPU memory the version holds.</param>
/// <param name="Measured">True when measured across its load; false when an estimate (another load overlapped).</param>
/// <param name="CpuBudgetBytes">The <c>--model-memory-budget</c> in bytes; null without one.</param>
/// <param name="CpuHeadroomBytes">The budget less what every loaded version holds; null without a budget.</param>
/// <param name="Gpus">The device memory it holds per GPU, with that GPU's budget and headroom.</param>
public sealed record ModelIndexMemory(long CpuBytes, bool Measured, long? CpuBudgetBytes, long? CpuHeadroomBytes, IReadOnlyList<GpuIndexMemory> Gpus);
