namespace InferenceServer.Core.Backends;

/// <summary>Where a model instance executes (the config's <c>instance_group.kind</c>).</summary>
public enum InstanceKind
{
    /// <summary>KIND_AUTO: GPU when one is available, else CPU.</summary>
    Auto,
    /// <summary>KIND_CPU.</summary>
    Cpu,
    /// <summary>KIND_GPU.</summary>
    Gpu,
}
