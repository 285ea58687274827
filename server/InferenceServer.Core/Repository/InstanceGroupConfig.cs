using InferenceServer.Core.Backends;

namespace InferenceServer.Core.Repository;

/// <summary>One <c>instance_group</c> entry.</summary>
public sealed record InstanceGroupConfig
{
    /// <summary><c>name</c>; empty when not given.</summary>
    public string Name { get; init; } = "";

    /// <summary><c>count</c>; Triton's default is 1.</summary>
    public int Count { get; init; } = 1;

    /// <summary><c>kind</c>.</summary>
    public InstanceKind Kind { get; init; } = InstanceKind.Auto;

    /// <summary><c>gpus</c>: for KIND_GPU, <see cref="Count"/> instances on each listed GPU.</summary>
    public IReadOnlyList<int> Gpus { get; init; } = [];
}
