using InferenceServer.Core.Repository;
using Accelerator = InferenceServer.Core.Repository.ModelOptimizationPolicy.Types.ExecutionAccelerators.Types.Accelerator;

namespace InferenceServer.Core.Backends;

/// <summary>How to create one model instance.</summary>
/// <param name="ModelPath">Absolute path of the model file.</param>
/// <param name="Kind">Where it runs.</param>
/// <param name="DeviceId">GPU ordinal for <see cref="InstanceKind.Gpu"/>; ignored on CPU.</param>
/// <param name="Parameters">The config's <c>parameters</c> (e.g. <c>intra_op_thread_count</c>), names as Triton's backend uses them.</param>
public sealed record InstanceOptions(
    string ModelPath,
    InstanceKind Kind,
    int DeviceId,
    IReadOnlyDictionary<string, string> Parameters)
{
    /// <summary>
    /// The config's <c>optimization.graph.level</c>, as Triton reads it (for ONNX Runtime: -1 basic,
    /// 1 extended, anything else all optimizations); null when the config does not give one.
    /// </summary>
    public int? GraphOptimizationLevel { get; init; }

    /// <summary>
    /// The config's <c>optimization.execution_accelerators.gpu_execution_accelerator</c> entries
    /// (e.g. <c>tensorrt</c>), for instances placed on a GPU.
    /// </summary>
    public IReadOnlyList<Accelerator> GpuExecutionAccelerators { get; init; } = [];

    /// <summary>
    /// The config's <c>optimization.execution_accelerators.cpu_execution_accelerator</c> entries (Triton's
    /// <c>openvino</c>, say), so a backend that has none can refuse them by name instead of ignoring them.
    /// </summary>
    public IReadOnlyList<Accelerator> CpuExecutionAccelerators { get; init; } = [];

    /// <summary>
    /// The inputs and outputs the config declares (<see cref="ConfigDeclaredSignature"/>), for a backend whose model files
    /// do not declare their own (TorchScript); empty lists when the config gives none.
    /// </summary>
    public ModelSignature Declared { get; init; } = new([], []);
}
