namespace InferenceServer.Core.Lifecycle;

/// <summary>
/// Divides the machine's cores among CPU instances. Every ONNX Runtime session otherwise starts as
/// many intra-op threads as there are cores, so N instances would run N × cores threads that
/// fight over the same cores; giving each instance its share keeps the sum within the machine.
/// </summary>
internal static class CpuThreadBudget
{
    /// <summary>Intra-op threads for each of <paramref name="instances"/> CPU instances on <paramref name="cores"/> cores: at least one.</summary>
    public static int ThreadsPerInstance(int cores, int instances) => Math.Max(1, cores / Math.Max(1, instances));
}
