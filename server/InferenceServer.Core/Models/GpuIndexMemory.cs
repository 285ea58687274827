namespace InferenceServer.Core.Models;

/// <summary>A loaded version's device memory on one GPU, with that GPU's <c>--gpu-memory-budget</c> and headroom (null without one).</summary>
public sealed record GpuIndexMemory(int Device, long Bytes, long? BudgetBytes, long? HeadroomBytes);
