namespace InferenceServer.Core.Repository;

/// <summary>The parts of <c>optimization</c> this server acts on.</summary>
public sealed record OptimizationConfig
{
    /// <summary><c>graph.level</c>: -1 basic, 0 or absent (default) all... as Triton's ORT backend maps it; null when not given.</summary>
    public int? GraphLevel { get; init; }

    /// <summary><c>priority</c>, e.g. <c>PRIORITY_DEFAULT</c>; empty when not given.</summary>
    public string Priority { get; init; } = "";

    /// <summary><c>execution_accelerators.cpu_execution_accelerator</c>.</summary>
    public IReadOnlyList<ExecutionAcceleratorConfig> CpuExecutionAccelerators { get; init; } = [];

    /// <summary><c>execution_accelerators.gpu_execution_accelerator</c>.</summary>
    public IReadOnlyList<ExecutionAcceleratorConfig> GpuExecutionAccelerators { get; init; } = [];
}
